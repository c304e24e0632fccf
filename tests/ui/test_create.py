"""Creating an endpoint in the browser: choices from GET /api/v1/catalog, the API's field
errors next to their inputs, a plan that fills the resources and shows its price, a secret
that stays masked, the key shown once, and the new endpoint reaching Ready on its page."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess, wait_until
from tests.ui.conftest import SignIn

pytestmark = [pytest.mark.ui, pytest.mark.e2e, pytest.mark.engine]

Shoot = Callable[[Any, str], Path]
NAME = "made-in-ui"
PLAN = "C3.2: 2 vCPU, 8 GB — ₹3.10/hour (hourly; Delhi, Chennai)"  # the shipped catalog's


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _form(page: Any) -> Any:
    page.goto("/ui/#/create")
    return page.get_by_role("form", name="Create endpoint")


def test_create_from_the_catalog_shows_field_errors_and_reaches_ready(
    page: Any, signed_in: SignIn, ui_server: ServerProcess, smollm2_path: Path, shoot: Shoot
) -> None:
    expect = _expect()
    signed_in(page)
    form = _form(page)
    expect(form.get_by_label("Engine or model preset")).to_have_value("engine:llamacpp")
    form.get_by_label("Name", exact=True).fill("Not_A_Name")
    form.get_by_label("File or directory on the server").fill(str(smollm2_path))
    form.get_by_label("Plan").select_option(label=PLAN)
    expect(form.get_by_label("vCPUs")).to_have_value("2")  # the plan's shape
    expect(form.get_by_label("Memory (MB)")).to_have_value("8192")
    expect(form.locator(".price")).to_have_text("₹3.10 per replica-hour")
    form.get_by_role("button", name="Add variable").click()
    form.get_by_label("Variable name").fill("GREETING")
    form.get_by_label("Variable value").fill("hush-hush")
    expect(form.get_by_label("Variable value")).to_have_attribute("type", "password")
    form.get_by_role("button", name="Add argument").click()
    form.get_by_label("Flag").fill("n_ctx")
    form.get_by_label("Value", exact=True).fill("512")

    # The API refuses the name: its message sits under the Name input, which is marked.
    form.get_by_role("button", name="Create endpoint").click()
    name_input = form.get_by_label("Name", exact=True)
    expect(name_input).to_have_attribute("aria-invalid", "true")
    note = form.locator(".field:has(> input[name='name']) > .field-error")
    expect(note).to_contain_text("name: must be a DNS label")
    assert note.get_attribute("id") == name_input.get_attribute("aria-errormessage")
    shoot(page, "create")

    name_input.fill(NAME)
    form.get_by_role("button", name="Create endpoint").click()
    created = page.get_by_role("status").filter(has_text=f"Endpoint {NAME} created")
    key = created.locator("code[data-key]")
    expect(key).to_have_text(re.compile(r"^mp_\S+$"))  # the inference key, shown this once

    with ui_server.api() as api:
        spec = api.get(f"/api/v1/endpoints/{NAME}").json()["spec"]
    assert (spec["resources"]["cpu"], spec["resources"]["memory_mb"]) == (2, 8192)
    assert spec["env"] == [
        {"name": "GREETING", "value": "********", "secret": True, "required": False,
         "disabled": False}
    ]  # fmt: skip
    assert spec["engine_args"] == {"n_ctx": 512}  # typed as a number
    assert spec["plan"] == {"sku_item_price_id": 1001}  # priced by its plan (usage)

    page.get_by_role("link", name=f"Open {NAME}").click()
    expect(page).to_have_url(re.compile(rf"#/endpoints/{NAME}$"))
    expect(page.locator(".endpoint-head [data-state]")).to_have_text("ready", timeout=120_000)
    with ui_server.api() as api:
        assert api.delete(f"/api/v1/endpoints/{NAME}").status_code == 202

        def gone() -> bool:  # its replica's CPU is back for the next test
            return bool(api.get(f"/api/v1/endpoints/{NAME}").status_code == 404)

        assert wait_until(gone, timeout=60)


def test_a_model_preset_fills_engine_model_and_gpus(page: Any, signed_in: SignIn) -> None:
    expect = _expect()
    signed_in(page)
    form = _form(page)
    form.get_by_label("Engine or model preset").select_option("preset:gemma-2b-it")
    expect(form.locator("input[name='spec.framework']")).to_have_value("vllm")
    expect(form.get_by_label("Model source")).to_have_value("hf_id")
    expect(form.get_by_label("Hugging Face repo")).to_have_value("google/gemma-2b-it")
    expect(form.get_by_label("GPUs")).to_have_value("1")
    # Which spec.model fields an engine takes comes from the catalog: a custom command has none
    # of the Hugging Face kind, and asks for its command.
    form.get_by_label("Engine or model preset").select_option("engine:custom")
    expect(form.get_by_label("Model source").locator("option")).to_have_text(
        ["Container image", "File or directory on the server"]
    )
    expect(form.get_by_label("Command (custom engine; {port} is replaced)")).to_be_visible()

    # A rule the API checks across fields lands on the field it names.
    form.get_by_label("Name", exact=True).fill("scaled")
    form.get_by_label("Command (custom engine; {port} is replaced)").fill("serve {port}")
    form.get_by_label("Scale automatically").check()
    form.get_by_label("Min replicas").fill("3")
    form.get_by_label("Max replicas").fill("2")
    form.get_by_role("button", name="Create endpoint").click()
    expect(form.get_by_label("Max replicas")).to_have_attribute("aria-invalid", "true")
    note = form.locator(".field:has(> input[name='spec.autoscale.max_replicas']) > .field-error")
    expect(note).to_contain_text("must be >= min_replicas")
