"""Every invalid input is a 4xx in TIR's envelope that names the field at fault; never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.unit.dialects.tir.conftest import Tir, request, set_in


def assert_field_error(resp: httpx.Response, status: int, field: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    answer: dict[str, Any] = resp.json()
    assert set(answer) == {"code", "data", "errors", "message"}
    assert answer["code"] == status
    assert field in answer["errors"], answer
    assert field in answer["message"], answer
    assert all(field in m for m in answer["errors"][field])
    return answer


def _without(*keys: str) -> Callable[[dict[str, Any]], Any]:
    def drop(body: dict[str, Any]) -> None:
        for key in keys:
            body.pop(key)

    return drop


def _set(dotted: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda body: set_in(body, dotted, value)


ENV = "custom_endpoint_details.resource_details.env_variables"
PROBE = "custom_endpoint_details.container.advance_config.readiness_probe"
PRIVATE = "custom_endpoint_details.container.private_image_details"

CASES: list[tuple[str, Callable[[dict[str, Any]], Any], str]] = [
    # Required fields (seed 000).
    ("no name", _without("name"), "name"),
    ("no framework", _without("framework"), "framework"),
    ("no replica", _without("replica"), "replica"),
    ("no detailed_info", _without("detailed_info"), "detailed_info"),
    ("no custom_endpoint_details", _without("custom_endpoint_details"), "custom_endpoint_details"),
    ("no is_auto_scale_enabled", _without("is_auto_scale_enabled"), "is_auto_scale_enabled"),
    ("no plan", _without("sku_id", "sku_item_price_id"), "sku_id"),
    # Wrong types.
    ("replica as text", _set("replica", "two"), "replica"),
    ("flag as text", _set("is_auto_scale_enabled", "maybe"), "is_auto_scale_enabled"),
    ("sku_id as text", _set("sku_id", "big"), "sku_id"),
    ("env list as object", _set(f"{ENV}", {"A": "b"}), ENV),
    ("engine_args as list", _set("detailed_info.engine_args", ["x"]), "detailed_info.engine_args"),
    ("engine_arg as object", _set("detailed_info.engine_args", {"seed": {"a": 1}}),
     "detailed_info.engine_args.seed"),
    # Out of range.
    ("negative replica", _set("replica", -1), "replica"),
    ("huge replica", _set("replica", 100_000), "replica"),
    ("world_size 0", _set("detailed_info.world_size", 0), "detailed_info.world_size"),
    ("disk 0", _set("custom_endpoint_details.resource_details.disk_size", 0),
     "custom_endpoint_details.resource_details.disk_size"),
    ("probe port", _set(f"{PROBE}.port", 70000), f"{PROBE}.port"),
    ("probe threshold", _set(f"{PROBE}.failure_threshold", 0), f"{PROBE}.failure_threshold"),
    ("max below min", _set("auto_scale_policy.min_replicas", 3), "auto_scale_policy.max_replicas"),
    ("rule value", _set("auto_scale_policy.rules.0.value", 0), "auto_scale_policy.rules.0.value"),
    # Unknown enum values.
    ("framework", _set("framework", "tensorflow"), "framework"),
    ("cluster_type", _set("cluster_type", "cloud"), "cluster_type"),
    ("pull policy", _set("custom_endpoint_details.container.advance_config.image_pull_policy",
                         "Sometimes"),
     "custom_endpoint_details.container.advance_config.image_pull_policy"),
    ("container_type", _set("custom_endpoint_details.container.container_type", "secret"),
     "custom_endpoint_details.container.container_type"),
    ("probe protocol", _set(f"{PROBE}.protocol", "udp"), f"{PROBE}.protocol"),
    ("metric", _set("auto_scale_policy.rules.0.metric", "gpu"), "auto_scale_policy.rules.0.metric"),
    ("condition", _set("auto_scale_policy.rules.0.condition_type", "above"),
     "auto_scale_policy.rules.0.condition_type"),
    ("serve type", _set("detailed_info.model_serve_type", "half-model"),
     "detailed_info.model_serve_type"),
    ("sku_type", _set("sku_type", "monthly"), "sku_type"),
    ("currency", _set("currency", "EUR"), "currency"),
    ("storage", _set("storage_type", "tape"), "storage_type"),
    ("public_ip", _set("custom_endpoint_details.public_ip", "maybe"),
     "custom_endpoint_details.public_ip"),
    # Catalog checks: plans, models, versions.
    ("unknown sku", _set("sku_id", 999), "sku_id"),
    ("unknown price", _set("sku_item_price_id", 999999), "sku_item_price_id"),
    ("price of another sku", _set("sku_item_price_id", 1001), "sku_item_price_id"),
    ("unlisted vllm model", _set("detailed_info.hugging_face_id", "acme/not-a-model"),
     "detailed_info.hugging_face_id"),
    ("server version", lambda b: b.update(framework="triton") or set_in(
        b, "detailed_info.server_version", "v1.0"), "detailed_info.server_version"),
    # Cross-field rules.
    ("empty name", _set("name", "__"), "name"),
    ("env key", _set(f"{ENV}.0.key", "1-BAD"), f"{ENV}.0.key"),
    ("env value without key", _set(f"{ENV}.0.key", ""), f"{ENV}.0.key"),
    ("duplicate env", lambda b: set_in(b, ENV, [{"key": "A", "value": "1"}] * 2), f"{ENV}.1.key"),
    ("exec probe", lambda b: (
        set_in(b, "custom_endpoint_details.container.advance_config.is_readiness_probe_enabled",
               True), set_in(b, f"{PROBE}.protocol", "exec")), f"{PROBE}.commands"),
    ("probe path", lambda b: (
        set_in(b, "custom_endpoint_details.container.advance_config.is_readiness_probe_enabled",
               True), set_in(b, f"{PROBE}.path", "health")), f"{PROBE}.path"),
    ("autoscale without metric", _set("is_auto_scale_enabled", True),
     "auto_scale_policy.rules.0.metric"),
    ("custom metric", lambda b: set_in(b, "auto_scale_policy.rules.0.metric", "custom"),
     "auto_scale_policy.rules.0.custom_metric_name"),
    ("bad commands", _set("detailed_info.commands", '["python", 3]'), "detailed_info.commands"),
    ("custom without command", _set("framework", "custom") , "detailed_info.commands"),
    ("private without sku", _set("cluster_type", "private-cluster"), "private_cloud_id"),
    ("private without shape", lambda b: b.update(cluster_type="private-cluster",
                                                 private_cloud_id=3), "custom_sku"),
    ("private shape", lambda b: b.update(cluster_type="private-cluster", private_cloud_id=3,
                                         custom_sku={"cpu": 0, "memory": 1}), "custom_sku.cpu"),
    ("llamacpp without path", _set("framework", "llamacpp"), "path"),
    ("llamacpp missing file", lambda b: b.update(framework="llamacpp", path="/nowhere/x.gguf"),
     "path"),
    # Containers, model sources, storage, runtime (issue 9).
    ("private without registry", _set("custom_endpoint_details.container.container_type",
                                      "private"), f"{PRIVATE}.registry_namespace_id"),
    ("registry id 0", lambda b: set_in(b, "custom_endpoint_details.container", {
        "container_type": "private", "container_name": "a/b:1",
        "private_image_details": {"registry_namespace_id": 0}}),
     f"{PRIVATE}.registry_namespace_id"),
    ("model_id boolean", _set("model_id", True), "model_id"),
    ("integration id 0", _set("model_load_integration_id", 0), "model_load_integration_id"),
    ("runtime", _set("runtime", "kubernetes"), "runtime"),
    ("sfs without path", _set("storage_type", "sfs"), "sfs_path"),
    ("sfs relative", lambda b: b.update(storage_type="sfs", sfs_path="shared"), "sfs_path"),
    ("terraform clash", _set("model_path", "/elsewhere"), "model_path"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "mutate", "field"), CASES, ids=[c[0] for c in CASES])
def test_bad_create_requests_name_the_field(
    tir: Tir, case: str, mutate: Callable[[dict[str, Any]], Any], field: str
) -> None:
    body = request()
    if case == "custom without command":
        body["custom_endpoint_details"]["container"]["container_name"] = ""
    mutate(body)
    assert_field_error(tir.create(body), 400, field)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"project_id": None}, "project_id"),
        ({"project_id": "abc"}, "project_id"),
        ({"project_id": 0}, "project_id"),
        ({"location": "Mars"}, "location"),
        ({"location": None}, "location"),
        ({"active_iam": "x"}, "active_iam"),
    ],
)
def test_bad_query_parameters_name_the_field(tir: Tir, params: dict[str, Any], field: str) -> None:
    assert_field_error(tir.create(request(), **params), 400, field)


def test_a_project_other_than_the_tokens_is_not_found(tir: Tir) -> None:
    other = tir.world.other_project.id
    answer = assert_field_error(tir.create(request(), project_id=other), 404, "project_id")
    assert tir.native("GET", "/endpoints").json()["items"] == []
    assert str(other) in answer["message"]
    resp = tir.call("GET", "/serving/inference/", params={"project_id": other})
    assert_field_error(resp, 404, "project_id")


def test_missing_or_wrong_token_is_401(tir: Tir) -> None:
    for who in (None, "mp_not-a-real-token"):
        resp = tir.create(request(), who=who)  # type: ignore[arg-type]
        assert resp.status_code == 401, resp.text
        assert resp.json()["code"] == 401
        assert resp.headers["www-authenticate"] == "Bearer"


def test_malformed_json_and_a_missing_body(tir: Tir) -> None:
    resp = tir.call(
        "POST",
        "/serving/inference/",
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert_field_error(resp, 400, "body")
    assert_field_error(tir.call("POST", "/serving/inference/"), 400, "body")


def test_unknown_inference_id_and_bad_path(tir: Tir) -> None:
    assert_field_error(tir.call("GET", "/serving/inference/4242/"), 404, "inference_id")
    assert_field_error(tir.call("GET", "/serving/inference/abc/"), 400, "inference_id")
    assert_field_error(tir.put(4242, {"action": "stop"}), 404, "inference_id")
    resp = tir.call("DELETE", "/serving/inference/4242/")
    assert_field_error(resp, 404, "inference_id")


PUT_CASES: list[tuple[dict[str, Any], str]] = [
    ({"action": "pause"}, "action"),
    ({"action": "update_async_configuration"}, "async_enabled"),
    ({"action": "update_async_configuration", "async_enabled": True}, "async_concurrent_workers"),
    ({"action": "update_async_configuration", "async_enabled": True,
      "async_concurrent_workers": 2}, "async_dataset_id"),
    ({"action": "update_async_configuration", "async_enabled": True,
      "async_concurrent_workers": 0, "async_dataset_id": 1}, "async_concurrent_workers"),
    ({"action": "update_async_configuration", "async_enabled": True,
      "async_concurrent_workers": 1, "async_dataset_id": 1, "async_destination_type": "s3"},
     "async_destination_type"),
    ({"action": "update_async_configuration", "async_enabled": True,
      "async_concurrent_workers": 1, "async_dataset_id": 1,
      "async_target_routes": [{"route_name": "x"}]}, "async_target_routes.0.route_value"),
    ({"action": "update_auto_scale"}, "auto_scale_policy"),
    ({"action": "update_auto_scale", "is_auto_scale_enabled": True,
      "auto_scale_policy": {"rules": [{"metric": "custom"}]}},
     "auto_scale_policy.rules.0.custom_metric_name"),
    ({"action": "patch", "replica": -2}, "replica"),
    ({"action": "patch", "sku_id": 999, "sku_item_price_id": 755}, "sku_id"),
    ({"action": "patch", "sku_id": 180, "sku_type": "committed", "committed_days": 7},
     "committed_days"),
    ({"action": "patch", "framework": "sglang"}, "framework"),
    ({"action": "patch", "name": "renamed"}, "name"),
    ({"action": "patch", "detailed_info": {"engine_args": {"bad flag": 1}}},
     "detailed_info.engine_args.bad flag"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field"), PUT_CASES)
def test_bad_actions_name_the_field(tir: Tir, body: dict[str, Any], field: str) -> None:
    ep = tir.created(request())
    assert_field_error(tir.put(ep["id"], body), 400, field)
    assert tir.native_endpoint("vllm-chat")["generation"] == 1  # nothing changed


def test_bad_plan_queries_name_the_field(tir: Tir) -> None:
    resp = tir.call("GET", "/serving/plans/", params={"location": "Atlantis"})
    assert_field_error(resp, 400, "location")
    resp = tir.call("GET", "/serving/plans/", params={"framework": "tensorflow"})
    assert_field_error(resp, 400, "framework")


@pytest.mark.parametrize(
    ("spec_path", "tir_name"),
    [
        ("spec.async_config.dataset_id", "async_dataset_id"),
        ("spec.async_config.concurrent_workers", "async_concurrent_workers"),
        ("spec.async_config.target_routes.0.route_value", "async_target_routes.0.route_value"),
        ("spec.async_config.enabled", "async_enabled"),
    ],
)
def test_async_spec_errors_name_the_tir_field(spec_path: str, tir_name: str) -> None:
    """A spec error from the services about async settings names the field TIR clients sent."""
    from modelport.dialects.tir.envelope import tir_field, tir_message

    assert tir_field(spec_path) == tir_name
    assert tir_message(f"{spec_path}: no such dataset", spec_path) == f"{tir_name}: no such dataset"
