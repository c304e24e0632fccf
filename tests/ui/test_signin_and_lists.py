"""The dashboard's front door in a real browser: sign in and out, the endpoints list and its
filters, tokens shown once and revoked, a second project sees none of the first, a change
without the CSRF header is refused, and a phone-width screen needs no horizontal scrolling."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess, wait_until
from tests.ui.conftest import CHAT, SignIn, api_as

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.engine]

Shoot = Callable[[Any, str], Path]


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _row(page: Any, name: str) -> Any:
    return page.locator("table.data tbody tr").filter(has=page.get_by_role("link", name=name))


def test_sign_in_lists_endpoints_and_signs_out(
    page: Any, signed_in: SignIn, ui_server: ServerProcess, shoot: Shoot
) -> None:
    expect = _expect()
    page.goto("/ui/#/endpoints")
    expect(page).to_have_url(re.compile(r"#/signin$"))  # not signed in: the sign-in page
    shoot(page, "signin")

    page.get_by_label("API token").fill("mp_not-a-token")
    page.get_by_role("button", name="Sign in").click()
    error = page.locator(".field-error")
    expect(error).to_have_text("token: invalid or revoked token")
    expect(page.get_by_label("API token")).to_have_attribute("aria-invalid", "true")

    signed_in(page)
    row = _row(page, CHAT)
    expect(row.locator("[data-label=State]")).to_have_text(re.compile("ready"))
    expect(row.locator("[data-label=Replicas]")).to_have_text("1/1")
    expect(row.locator("[data-label=Engine]")).to_have_text("llamacpp")
    expect(row.locator("[data-label=Model]")).to_contain_text(".gguf")
    expect(row.locator("[data-label=URL]")).to_contain_text(f"/endpoints/{CHAT}")
    expect(page.locator("#whoami")).to_contain_text("default")
    shoot(page, "endpoints")

    # Filters are the API's list query: each narrows the rows the server returns.
    page.get_by_label("Name starts with").fill("zz")
    expect(page.get_by_text("No endpoint matches these filters.")).to_be_visible()
    page.get_by_label("Name starts with").fill("ch")
    expect(_row(page, CHAT)).to_have_count(1)
    page.get_by_label("Engine").select_option("vllm")
    expect(_row(page, CHAT)).to_have_count(0)
    page.get_by_label("Engine").select_option("llamacpp")
    page.get_by_label("State").select_option("stopped")
    expect(_row(page, CHAT)).to_have_count(0)
    page.get_by_label("State").select_option("ready")
    expect(_row(page, CHAT)).to_have_count(1)

    page.reload()  # the session survives a reload (GET /ui/session)
    expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()
    expect(page.get_by_label("State")).to_have_value("ready")  # filters live in the URL

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"#/signin$"))
    assert page.request.get("/api/v1/whoami").status == 401  # the cookie is gone
    page.goto("/ui/#/tokens")
    expect(page).to_have_url(re.compile(r"#/signin$"))


def test_token_is_shown_once_and_revoked(
    page: Any, signed_in: SignIn, ui_server: ServerProcess, shoot: Shoot
) -> None:
    expect = _expect()
    signed_in(page)
    page.get_by_role("link", name="Tokens").click()
    page.get_by_label("Name").fill("ci-bot")
    page.get_by_label("Role").select_option("viewer")
    page.get_by_role("button", name="Create token").click()
    secret = page.locator(".token-value")
    expect(secret).to_be_visible()
    token = secret.inner_text()
    with api_as(ui_server, token) as api:
        assert api.get("/api/v1/whoami").json()["role"] == "viewer"
    row = page.locator("table.data tbody tr").filter(has_text="ci-bot")
    expect(row.locator("[data-label=Role]")).to_have_text("viewer")
    shoot(page, "tokens")

    page.reload()  # shown once: a new visit shows the prefix only
    expect(page.locator(".token-value")).to_have_count(0)
    expect(row).to_have_count(1)

    row.get_by_role("button", name="Revoke ci-bot").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text('Revoke token "ci-bot"?')
    dialog.get_by_role("button", name="Cancel").click()
    expect(row).to_have_count(1)  # cancelled: nothing happened
    row.get_by_role("button", name="Revoke ci-bot").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(row).to_have_count(0)
    with api_as(ui_server, token) as api:
        assert api.get("/api/v1/whoami").status_code == 401


def test_second_project_sees_none_of_the_first(
    page: Any, signed_in: SignIn, ui_server: ServerProcess
) -> None:
    expect = _expect()
    with ui_server.api() as api:
        created = api.post("/api/v1/projects", json={"name": "ui-other"})
    assert created.status_code == 201, created.text
    signed_in(page, created.json()["admin_token"])
    expect(page.locator("#whoami")).to_contain_text("ui-other")
    expect(page.get_by_text("No endpoints yet: create one.")).to_be_visible()
    # Neither the API nor the gateway shows project A's endpoint to this session's cookie.
    assert page.request.get(f"/api/v1/endpoints/{CHAT}").status == 404
    csrf = page.evaluate("MP.session.csrf")
    chat = page.request.post(
        f"/endpoints/{CHAT}/v1/chat/completions",
        data={"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
        headers={"X-CSRF-Token": csrf},
    )
    assert chat.status == 404


def test_change_without_csrf_header_is_refused(page: Any, signed_in: SignIn) -> None:
    signed_in(page)
    body = {"name": "csrf-probe", "role": "viewer"}
    refused = page.request.post("/api/v1/tokens", data=body)
    assert refused.status == 403
    assert refused.json()["error"]["message"] == "csrf: missing or wrong X-CSRF-Token header"
    wrong = page.request.post("/api/v1/tokens", data=body, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status == 403
    gateway = page.request.post(
        f"/endpoints/{CHAT}/v1/chat/completions",
        data={"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2},
    )
    assert gateway.status == 403
    # Reads need no CSRF header; the same change with it succeeds.
    assert page.request.get("/api/v1/tokens").status == 200
    csrf = page.evaluate("MP.session.csrf")
    created = page.request.post("/api/v1/tokens", data=body, headers={"X-CSRF-Token": csrf})
    assert created.status == 201
    page.request.delete(f"/api/v1/tokens/{created.json()['id']}", headers={"X-CSRF-Token": csrf})


def test_phone_width_needs_no_horizontal_scroll(page: Any, signed_in: SignIn, shoot: Shoot) -> None:
    expect = _expect()
    page.set_viewport_size({"width": 375, "height": 740})
    signed_in(page)
    expect(_row(page, CHAT)).to_have_count(1)

    def fits() -> bool:
        return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))

    assert wait_until(fits, timeout=5, interval=0.2), "the endpoints page scrolls sideways"
    shoot(page, "endpoints-phone")
    menu = page.get_by_role("button", name="Menu")
    expect(page.get_by_role("link", name="Tokens")).to_be_hidden()  # the nav is folded away
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.get_by_role("link", name="Tokens").click()
    expect(page.get_by_role("heading", name="Tokens", exact=True)).to_be_visible()
    assert fits(), "the tokens page scrolls sideways"
