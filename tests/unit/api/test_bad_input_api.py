"""Bad input is a 4xx that names the field, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.unit.api.conftest import MAX_BODY, Api, assert_error, web_body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "web"}, "spec"),
        ({"name": "web", "spec": {"command": ["x"]}}, "spec.framework"),
        ({"spec": {"framework": "custom", "command": ["x"]}}, "name"),
        (web_body(replicas="two"), "spec.replicas"),
        (web_body(replicas=-1), "spec.replicas"),
        (web_body("Bad_Name"), "name"),
        (web_body("a" * 64), "name"),
        ({"name": "web", "spec": {"framework": "custom"}}, "spec.command"),
        (web_body(env=[{"name": "1BAD", "value": "x"}]), "spec.env.0.name"),
        (web_body(resources={"gpu_type": "H100"}), "spec.resources.gpu_count"),
        (web_body(colour="blue"), "spec.colour"),
        ({"name": "web", "spec": "custom"}, "spec"),
        (web_body(plan={"sku_item_price_id": 0}), "spec.plan.sku_item_price_id"),
    ],
)
def test_invalid_create_bodies_name_the_field(api: Api, body: dict[str, Any], field: str):
    error = assert_error(api.admin("POST", "/endpoints", json=body), 422, field)
    assert error["type"] == "invalid_request"
    assert error["details"][0]["field"] == field


def test_an_unknown_framework_lists_the_allowed_ones(api: Api):
    resp = api.admin("POST", "/endpoints", json=web_body(framework="tgi"))
    error = assert_error(resp, 422, "spec.framework")
    assert "'llamacpp'" in error["message"] and "'custom'" in error["message"]
    assert "tgi" not in error["message"]  # input is not echoed back


def test_a_spec_the_engine_rejects_names_the_field(api: Api):
    body = {"name": "chat", "spec": {"framework": "llamacpp", "model": {"path": "/m/x.txt"}}}
    assert_error(api.admin("POST", "/endpoints", json=body), 422, "spec.model.path")


def test_malformed_json_names_the_body(api: Api):
    resp = api.admin(
        "POST",
        "/endpoints",
        content=b'{"name": "web",',
        headers={"Content-Type": "application/json"},
    )
    error = assert_error(resp, 400, "body")
    assert "malformed JSON" in error["message"]


def test_a_missing_body_names_the_body(api: Api):
    assert_error(api.admin("POST", "/endpoints"), 422, "body")


def test_an_oversized_body_is_413(api: Api):
    huge = web_body(description="x" * (MAX_BODY + 1))
    error = assert_error(api.admin("POST", "/endpoints", json=huge), 413, "body")
    assert error["type"] == "payload_too_large"


def test_an_oversized_streamed_body_is_413(api: Api):
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "web", "spec": {"framework": "custom", "description": "'
        for _ in range(MAX_BODY // 1024 + 2):
            yield b"x" * 1024
        yield b'"}}'

    resp = api.admin(
        "POST", "/endpoints", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in resp.request.headers
    assert_error(resp, 413, "body")


def test_unknown_routes_use_the_envelope(api: Api):
    resp = api.admin("GET", "/nothing-here")
    assert resp.status_code == 404
    assert resp.json()["error"]["type"] == "not_found"
    assert api.admin("PUT", "/endpoints").json()["error"]["type"] == "method_not_allowed"


def test_an_unexpected_error_is_a_generic_500(api: Api, caplog: pytest.LogCaptureFixture):
    def boom() -> None:
        raise RuntimeError("internal detail that must not leak")

    api.client.app.add_api_route("/boom", boom, methods=["POST"])  # type: ignore[attr-defined]
    with caplog.at_level("ERROR"):
        resp = api.client.post("/boom", json={"secret": "do-not-log"})
    assert resp.status_code == 500
    assert resp.json()["error"]["type"] == "internal_error"
    assert "internal detail" not in resp.text
    assert "internal detail" in caplog.text  # the traceback is logged...
    assert "do-not-log" not in caplog.text  # ...the request body is not


def test_a_plan_from_the_catalog_is_kept_and_a_patch_to_an_unknown_one_is_refused(api: Api):
    """spec.plan names one price of the plan catalog (what usage bills the replicas at)."""
    unknown = web_body("other", plan={"sku_item_price_id": 999_999})
    assert_error(api.admin("POST", "/endpoints", json=unknown), 422, "spec.plan.sku_item_price_id")
    created = api.admin("POST", "/endpoints", json=web_body(plan={"sku_item_price_id": 1001}))
    assert created.status_code == 201, created.text
    assert created.json()["spec"]["plan"] == {"sku_item_price_id": 1001}
    patch = {"spec": {"plan": {"sku_item_price_id": 4242}}}
    error = assert_error(
        api.admin("PATCH", "/endpoints/web", json=patch), 422, "spec.plan.sku_item_price_id"
    )
    assert "GET /api/v1/catalog" in error["message"]
