"""The playground in a real browser: a chat with the shared llama.cpp endpoint streams its
tokens in as they arrive, the request is shown as curl and then in the endpoint page's
graphs (the series API), and Stop ends a long answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.ui.conftest import CHAT, SignIn

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.engine]

Shoot = Callable[[Any, str], Path]

# Counts the separate moments text reached an assistant message: one per network read, so
# a reply that arrived as one blob counts 1 however many tokens it had.
_COUNT_ARRIVALS = """() => {
  window.__arrivals = 0;
  new MutationObserver((records) => {
    if (records.some((r) => r.target.closest && r.target.closest('.msg-assistant .content')))
      window.__arrivals += 1;
  }).observe(document.querySelector('ol.transcript'), {childList: true, subtree: true});
}"""


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _open(page: Any, signed_in: SignIn) -> Any:
    signed_in(page)
    page.get_by_role("link", name="Playground").click()
    _expect()(page.get_by_label("Endpoint")).to_have_value(CHAT)
    return page


def test_chat_streams_tokens_and_shows_the_request_as_curl(
    page: Any, signed_in: SignIn, ui_server: ServerProcess, shoot: Shoot
) -> None:
    expect = _expect()
    _open(page, signed_in)
    page.get_by_label("System prompt").fill("You are a poet.")
    page.get_by_label("Max tokens").fill("24")
    page.get_by_label("Temperature").fill("0")
    page.get_by_label("Message").fill("Write a short poem about the sea.")
    page.get_by_text("Request as curl").click()
    curl = page.locator("pre.curl")
    expect(curl).to_contain_text(
        f"curl -N {ui_server.base_url}/endpoints/{CHAT}/v1/chat/completions"
    )
    expect(curl).to_contain_text('"content":"Write a short poem about the sea."')
    expect(curl).to_contain_text('"max_tokens":24')

    page.evaluate(_COUNT_ARRIVALS)
    page.get_by_role("button", name="Send").click()
    reply = page.locator(".msg-assistant").last
    expect(reply).to_have_attribute("data-ended", "done", timeout=60_000)
    assert reply.locator(".content").inner_text().strip(), "no tokens arrived"
    arrivals = page.evaluate("window.__arrivals")
    assert arrivals >= 2, f"the reply arrived in {arrivals} piece(s): not streamed"
    expect(page.locator(".stats")).to_have_text(re.compile(r"^done: \d+ tokens in"))
    expect(page.locator(".msg-user")).to_have_text(re.compile("poem about the sea"))
    shoot(page, "playground")

    # The request shows in the endpoint page's graphs: the gateway adds its counters to the
    # store every ~10 s and the page reads the series every 5 s.
    page.get_by_role("link", name="Endpoints").click()
    page.get_by_role("link", name=CHAT, exact=True).click()
    requests = page.locator("[data-chart='Requests/s'] .chart-summary")
    expect(requests).to_have_text(re.compile(r"^[1-9][\d,]* in window$"), timeout=30_000)
    expect(page.locator("[data-chart='Latency (ms)'] .chart-summary")).to_have_text(
        re.compile(r"^last [\d,.]+ ms$")
    )
    expect(page.locator("[data-chart=Replicas] .chart-summary")).to_have_text("last 1 replicas")
    shoot(page, "endpoint-graphs")


def test_stop_ends_a_long_answer(page: Any, signed_in: SignIn) -> None:
    expect = _expect()
    _open(page, signed_in)
    page.get_by_label("Max tokens").fill("400")
    page.get_by_label("Message").fill("Count from 1 to 500, one number per line.")
    page.get_by_role("button", name="Send").click()
    reply = page.locator(".msg-assistant").last
    expect(reply.locator(".content")).not_to_be_empty(timeout=60_000)
    page.get_by_role("button", name="Stop").click()
    expect(reply).to_have_attribute("data-ended", "stopped")
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()
    expect(page.locator(".stats")).to_have_text(re.compile(r"^stopped: "))
