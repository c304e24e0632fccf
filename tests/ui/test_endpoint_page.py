"""The endpoint page in a real browser: what it shows of the shared `chat` endpoint (state,
URL and snippets, replicas with their process, events, logs), scaling it to two replicas and
back with the page following live, and a throwaway endpoint edited, stopped, started and
deleted through the page's actions."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess, wait_until
from tests.ui.conftest import CHAT, SignIn, wait_phase

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.engine]

Shoot = Callable[[Any, str], Path]
SCRATCH = "ui-scratch"
_CHAT_LOG_LINE = '"POST /v1/chat/completions HTTP/1.1" 200'  # the engine's access log


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _open(page: Any, signed_in: SignIn, name: str) -> Any:
    signed_in(page)
    page.goto(f"/ui/#/endpoints/{name}")
    page.get_by_role("heading", name=name, exact=True).wait_for()
    return page


def _confirm(page: Any, text: str, button: str = "Confirm") -> None:
    dialog = page.get_by_role("dialog")
    _expect()(dialog).to_contain_text(text)
    dialog.get_by_role("button", name=button).click()


def _live(srv: ServerProcess, name: str) -> list[dict[str, Any]]:
    with srv.api() as api:
        items: list[dict[str, Any]] = api.get(f"/api/v1/endpoints/{name}/replicas").json()["items"]
    return [r for r in items if r["state"] != "stopped"]


def test_endpoint_page_shows_state_snippets_replicas_events_and_logs(
    page: Any, signed_in: SignIn, ui_server: ServerProcess, shoot: Shoot
) -> None:
    expect = _expect()
    with ui_server.api() as api:
        endpoint = api.get(f"/api/v1/endpoints/{CHAT}").json()
        (replica,) = api.get(f"/api/v1/endpoints/{CHAT}/replicas").json()["items"]
        events = api.get(f"/api/v1/endpoints/{CHAT}/events").json()["items"]
    _open(page, signed_in, CHAT)
    head = page.locator(".endpoint-head")
    expect(head.locator("[data-state]")).to_have_text("ready")
    expect(head.locator("[data-fact=replicas]")).to_have_text("1 ready of 1")
    expect(head.locator("[data-fact=engine]")).to_have_text("llamacpp")
    expect(head.locator("code.url")).to_have_text(endpoint["url"])

    # The snippets carry the endpoint's own URL, ready to paste.
    curl = page.locator("[data-snippet=snippet-curl]")
    expect(curl).to_contain_text(f"curl {endpoint['url']}/chat/completions")
    expect(curl).to_contain_text('"model": "chat"')
    python = page.locator("[data-snippet=snippet-python]")
    expect(python).to_contain_text(f'OpenAI(base_url="{endpoint["url"]}"')

    row = page.locator(".replicas-body tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("[data-label=Replica]")).to_have_text(f"#{replica['id']}")
    expect(row.locator("[data-label=State]")).to_have_text("ready")
    expect(row.locator("[data-label=Process]")).to_have_text(f"pid {replica['handle']['pid']}")
    expect(row.locator("[data-label=Node]")).to_have_text("this host")

    # Every event the API had, newest first.
    timeline = page.locator("ol.events li")
    expect(timeline.locator(f"xpath=self::*[@data-id='{events[-1]['id']}']")).to_contain_text(
        events[-1]["reason"]
    )
    expect(page.locator(f"ol.events li[data-id='{events[0]['id']}']")).to_contain_text(
        events[0]["reason"]
    )
    ids = [int(i) for i in timeline.evaluate_all("items => items.map(i => i.dataset.id)")]
    assert ids == sorted(ids, reverse=True)

    # The replica's log as the logs API reads it (llama.cpp names its model on start).
    logs = page.locator("pre.logs")
    expect(logs).to_contain_text("llama")
    expect(page.get_by_label("Replica", exact=True)).to_have_value(str(replica["id"]))
    # Live: a request's access-log line shows up without a reload.
    seen = logs.inner_text().count(_CHAT_LOG_LINE)
    with ui_server.api() as api:
        answer = api.post(
            f"/endpoints/{CHAT}/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1},
        )
    assert answer.status_code == 200, answer.text
    assert wait_until(lambda: logs.inner_text().count(_CHAT_LOG_LINE) > seen, timeout=15)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Resume")).to_have_attribute("aria-pressed", "true")
    shoot(page, "endpoint")

    page.set_viewport_size({"width": 375, "height": 740})

    def fits() -> bool:
        return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))

    assert wait_until(fits, timeout=5, interval=0.2), "the endpoint page scrolls sideways"


def test_scale_to_two_and_back_follows_live(
    page: Any, signed_in: SignIn, ui_server: ServerProcess
) -> None:
    expect = _expect()
    _open(page, signed_in, CHAT)
    head = page.locator(".endpoint-head")
    expect(head.locator("[data-fact=replicas]")).to_have_text("1 ready of 1")
    first_id = int(page.locator(".replicas-body [data-label=Replica]").first.inner_text()[1:])

    page.get_by_label("Replicas wanted").fill("2")
    page.get_by_role("button", name="Scale").click()
    _confirm(page, f"Scale {CHAT} from 1 to 2 replicas?")
    # No reload: the page polls; the new replica comes up and its events appear.
    expect(head.locator("[data-fact=replicas]")).to_have_text("2 ready of 2", timeout=120_000)
    rows = page.locator(".replicas-body tbody tr")
    expect(rows.filter(has_text="ready")).to_have_count(2)
    second = next(r["id"] for r in _live(ui_server, CHAT) if r["id"] != first_id)
    expect(page.locator("ol.events li", has_text=f"replica #{second}").first).to_be_visible()

    page.get_by_label("Replicas wanted").fill("1")
    page.get_by_role("button", name="Scale").click()
    _confirm(page, f"Scale {CHAT} from 2 to 1 replicas?")
    expect(head.locator("[data-fact=replicas]")).to_have_text("1 ready of 1", timeout=60_000)
    # The shared endpoint is as the other tests expect it: one replica left.
    assert wait_until(lambda: len(_live(ui_server, CHAT)) == 1, timeout=60)


def test_patch_stop_start_and_delete_a_throwaway_endpoint(
    page: Any, signed_in: SignIn, ui_server: ServerProcess, shoot: Shoot
) -> None:
    expect = _expect()
    spec = {
        "framework": "custom",
        "command": [sys.executable, "-m", "http.server", "{port}", "--bind", "{host}"],
    }
    with ui_server.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": SCRATCH, "spec": spec})
    assert created.status_code == 201, created.text
    wait_phase(ui_server, SCRATCH, "ready", timeout=60)
    _open(page, signed_in, SCRATCH)
    head = page.locator(".endpoint-head")
    expect(head.locator("[data-state]")).to_have_text("ready")

    # Edit the spec as JSON: only the changed field is sent, with the generation read.
    page.get_by_text("Edit spec").click()
    editor = page.get_by_label(re.compile(r"^Spec \(JSON"))
    shown = json.loads(editor.input_value())
    assert shown["command"] == spec["command"]
    assert shown["model"] == {}  # unset (null) fields are left out of the text
    editor.fill(json.dumps({**shown, "replicas": -1}))
    page.get_by_role("button", name="Apply changes").click()
    _confirm(page, f"Change replicas of {SCRATCH}?")
    expect(page.locator(".spec-editor .error")).to_contain_text("spec.replicas")
    editor.fill(json.dumps({**shown, "description": "edited in the dashboard"}))
    page.get_by_role("button", name="Apply changes").click()
    _confirm(page, f"Change description of {SCRATCH}?")
    expect(head.locator("[data-fact=generation]")).to_have_text("2")
    with ui_server.api() as api:
        assert api.get(f"/api/v1/endpoints/{SCRATCH}").json()["spec"]["description"] == (
            "edited in the dashboard"
        )
    shoot(page, "endpoint-edit")

    actions = page.get_by_role("group", name="Actions")
    actions.get_by_role("button", name="Stop", exact=True).click()
    _confirm(page, f"Stop {SCRATCH}?")
    expect(head.locator("[data-state]")).to_have_text("stopped", timeout=60_000)
    expect(actions.get_by_role("button", name="Stop", exact=True)).to_be_disabled()
    actions.get_by_role("button", name="Start", exact=True).click()
    _confirm(page, f"Start {SCRATCH}?")
    expect(head.locator("[data-state]")).to_have_text("ready", timeout=60_000)

    actions.get_by_role("button", name="Delete", exact=True).click()
    _confirm(page, f"Delete {SCRATCH}?", button="Delete")
    expect(page).to_have_url(re.compile(r"#/endpoints$"))

    def gone() -> bool:
        with ui_server.api() as api:
            return api.get(f"/api/v1/endpoints/{SCRATCH}").status_code == 404

    assert wait_until(gone, timeout=60), f"{SCRATCH} was not deleted"
    page.goto(f"/ui/#/endpoints/{SCRATCH}")
    expect(page.get_by_role("alert")).to_have_text(
        f"No endpoint {SCRATCH} in this project (deleted?)."
    )
    expect(page.get_by_role("group", name="Actions")).to_be_hidden()


def test_logs_show_only_new_text_of_a_sliding_tail(page: Any) -> None:
    """The logs API answers each replica's last bytes; the page appends what is new by the
    overlap with what it showed, and starts again when there is none (a new file)."""
    page.goto("/ui/")
    cases = page.evaluate(
        """() => {
          const f = MP.parts.endpointLive.appended;
          const old = "x".repeat(300) + "line 1\\nline 2\\n";
          return [
            f("", "first\\n"),
            f("a\\nb\\n", "a\\nb\\nc\\n"),
            f(old, old.slice(-280) + "line 3\\n"),
            f(old, "another file\\n"),
            f("same\\n", "same\\n"),
          ];
        }"""
    )
    assert cases == ["first\n", "c\n", "line 3\n", None, ""]
