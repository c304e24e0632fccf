"""The usage page in a real browser: a chat through the gateway shows up in the per-endpoint
table with the engine's token counts within a flush (~10 s, the page re-reads as often), an
endpoint on a plan shows the plan and a cost, the totals and the per-day charts are drawn, and
grouping by day is a link that survives a reload."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, wait_until
from tests.ui.conftest import CHAT, SignIn

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.engine]

Shoot = Callable[[Any, str], Path]
PRICED = "priced"
PLAN = {"sku_item_price_id": 1001}  # shipped: plan C3.2 at 3.1 INR/h


@pytest.fixture
def priced(ui_server: ServerProcess) -> Iterator[str]:
    """A light endpoint (a Python HTTP server) billed under plan C3.2 (spec.plan, as the create
    form sends it)."""
    spec = {
        "framework": "custom", "command": [sys.executable, "-m", "http.server", "{port}"],
        "plan": PLAN,
    }  # fmt: skip
    with ui_server.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": PRICED, "spec": spec})
        assert created.status_code == 201, created.text
        yield PRICED
        api.delete(f"/api/v1/endpoints/{PRICED}")
        wait_until(lambda: api.get(f"/api/v1/endpoints/{PRICED}").status_code == 404, timeout=60)


def _number(text: str) -> float:
    return float(re.sub(r"[^0-9.]", "", text) or "nan")


def _cells(page: Any, key: str) -> dict[str, str]:
    """The table row of `key` as {column: text}; {} while it is not shown."""
    row = page.locator("table.data tbody tr").filter(
        has=page.get_by_role("link", name=key, exact=True)
    )
    if row.count() != 1:
        return {}
    cells = row.locator("td")
    return {
        cells.nth(i).get_attribute("data-label") or "": cells.nth(i).inner_text()
        for i in range(cells.count())
    }


def test_a_chat_and_a_plan_show_on_the_usage_page(
    page: Any, signed_in: SignIn, ui_server: ServerProcess, priced: str, shoot: Shoot
) -> None:
    from playwright.sync_api import expect

    body = {"model": CHAT, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
    answer = httpx.post(
        f"{ui_server.base_url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {ui_server.admin_token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    usage = answer.json()["usage"]

    signed_in(page)
    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", name="Usage and cost")).to_be_visible()

    def counted() -> bool:  # the page re-reads every 10 s: no reload needed
        chat = _cells(page, CHAT)
        return bool(chat) and (
            _number(chat["Requests"]) >= 1
            and _number(chat["Prompt tokens"]) >= usage["prompt_tokens"]
            and _number(chat["Completion tokens"]) >= usage["completion_tokens"]
        )

    assert wait_until(counted, timeout=45), _cells(page, CHAT)

    def billed() -> bool:
        row = _cells(page, priced)
        return bool(row) and _number(row["Cost"]) > 0

    assert wait_until(billed, timeout=45), _cells(page, priced)
    row = _cells(page, priced)
    assert row["Plans"].startswith("C3.2: ") and row["Plans"].endswith("\u00d7 ₹3.10/h"), row
    assert _number(row["Replica time"]) > 0, row  # "12 s", "4.5 min" or "1.2 h": never "0 h"
    assert _cells(page, CHAT)["Cost"] == "₹0.00"  # no plan: nothing to pay
    expect(page.locator("[data-total=requests]")).not_to_have_text("0")
    expect(page.locator(".usage-chart canvas")).to_have_count(3)
    shoot(page, "usage")

    page.get_by_label("Group by").select_option("day")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"#/usage\?.*group_by=day"))
    today = datetime.now(UTC).date().isoformat()
    day_row = page.locator("table.data tbody tr").filter(has_text=today)
    expect(day_row).to_have_count(1)
    page.reload()  # the range is in the URL
    expect(page.get_by_label("Group by")).to_have_value("day")
    expect(page.locator("table.data tbody tr").filter(has_text=today)).to_have_count(1)
