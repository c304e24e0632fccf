"""Models, datasets and integrations in a real browser: each lists, creates (field errors
under their input) and deletes with confirmation; secrets go in masked and never come back;
the create page fits a phone's width."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess
from tests.ui.conftest import SignIn

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.engine]

Shoot = Callable[[Any, str], Path]
SECRET = "hf_not-a-real-token-1234"


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _row(page: Any, name: str) -> Any:
    return page.locator("table.data tbody tr").filter(
        has=page.locator("td[data-label=Name]", has_text=name)
    )


def _delete(page: Any, name: str) -> None:
    _row(page, name).get_by_role("button", name="Delete").click()
    page.locator("dialog").get_by_role("button", name="Delete").click()
    _expect()(_row(page, name)).to_have_count(0)


def test_integration_secret_in_masked_out_never(
    page: Any, signed_in: SignIn, ui_server: ServerProcess, shoot: Shoot
) -> None:
    expect = _expect()
    signed_in(page)
    page.get_by_role("link", name="Integrations").click()
    form = page.get_by_role("form", name="New integration")
    form.get_by_label("Name", exact=True).fill("hub")
    expect(form.get_by_label("Username")).to_be_hidden()  # a registry field
    token = form.get_by_label("Token")
    expect(token).to_have_attribute("type", "password")
    form.get_by_role("button", name="New integration").click()  # no token: the API says so
    expect(token).to_have_attribute("aria-invalid", "true")
    token.fill(SECRET)
    form.get_by_role("button", name="New integration").click()
    row = _row(page, "hub")
    expect(row.locator("td[data-label=Secret]")).to_have_text("set, version 1")
    expect(token).to_have_value("")  # the form is cleared
    assert SECRET not in page.content()
    with ui_server.api() as api:
        assert SECRET not in api.get("/api/v1/integrations").text
    shoot(page, "integrations")
    _delete(page, "hub")


def test_dataset_and_model_create_and_delete(page: Any, signed_in: SignIn) -> None:
    expect = _expect()
    signed_in(page)
    page.get_by_role("link", name="Datasets").click()
    form = page.get_by_role("form", name="New dataset")
    form.get_by_label("Name", exact=True).fill("results")
    form.get_by_label("Access key id").fill("only-half")  # credentials need both parts
    form.get_by_role("button", name="New dataset").click()
    expect(form.locator(".field-error").first).to_be_visible()
    form.get_by_label("Access key id").fill("")
    form.get_by_role("button", name="New dataset").click()
    row = _row(page, "results")
    expect(row.locator("td[data-label=Kind]")).to_have_text("local")
    row.get_by_role("button", name="Objects").click()
    expect(page.get_by_text("No objects yet.")).to_be_visible()
    _delete(page, "results")

    page.get_by_role("link", name="Models").click()
    form = page.get_by_role("form", name="New model")
    form.get_by_label("Name", exact=True).fill("weights")
    form.get_by_role("button", name="New model").click()
    expect(_row(page, "weights").locator("td[data-label=Status]")).to_have_text("uploading")
    _delete(page, "weights")


def test_the_create_page_fits_a_phone(page: Any, signed_in: SignIn) -> None:
    signed_in(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/ui/#/create")
    _expect()(page.get_by_role("form", name="Create endpoint")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px of horizontal scroll"
