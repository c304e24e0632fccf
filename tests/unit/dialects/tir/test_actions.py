"""PUT /tir/serving/inference/{id}/ (seed 004's actions) and DELETE, seen through both APIs."""

from __future__ import annotations

from pathlib import Path

from tests.unit.dialects.tir.conftest import Tir, gguf_file, llamacpp_request, request


def _ok(resp, message: str) -> None:  # type: ignore[no-untyped-def]
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"code": 200, "data": message, "errors": {}, "message": "Success"}


def test_stop_and_start(tir: Tir) -> None:
    ep = tir.created(request())
    _ok(tir.put(ep["id"], {"action": "stop"}), "Model Endpoint stopped successfully")
    assert tir.native_endpoint("vllm-chat")["desired_state"] == "stopped"
    assert tir.get(ep["id"])["status"] == "Stopped"
    _ok(tir.put(ep["id"], {"action": "start"}), "Model Endpoint started successfully")
    assert tir.native_endpoint("vllm-chat")["desired_state"] == "running"
    assert tir.get(ep["id"])["status"] == "Waiting"


def test_restart_rolls_onto_a_new_generation(tir: Tir) -> None:
    ep = tir.created(request())
    _ok(tir.put(ep["id"], {"action": "restart"}), "Model Endpoint restarted successfully")
    assert tir.get(ep["id"])["generation"] == ep["generation"] + 1


def test_patch_changes_the_spec_and_bumps_the_generation(tir: Tir) -> None:
    ep = tir.created(request())
    body = {
        "action": "patch",
        "replica": 2,
        "detailed_info": {"engine_args": {"max_model_length": 2048}},
        "custom_endpoint_details": {
            "resource_details": {"env_variables": [{"key": "LOG_LEVEL", "value": "debug"}]}
        },
    }
    _ok(tir.put(ep["id"], body), "Model Endpoint updated successfully")
    native = tir.native_endpoint("vllm-chat")
    assert native["generation"] == 2
    assert native["spec"]["replicas"] == 2
    assert native["spec"]["engine_args"] == {"max_model_len": 2048}
    assert [(e["name"], e["value"]) for e in native["spec"]["env"]] == [("LOG_LEVEL", "debug")]
    # Untouched fields stay as created.
    assert native["spec"]["model"]["hf_id"] == "meta-llama/Llama-3.2-1B-Instruct"
    assert native["spec"]["resources"]["gpu_type"] == "A100-80GB"
    data = tir.get(ep["id"])
    assert data["replica"] == 2
    assert data["detailed_info"]["engine_args"] == {"max_model_length": 2048}


def test_a_patch_that_changes_nothing_keeps_the_generation(tir: Tir) -> None:
    ep = tir.created(request())
    _ok(tir.put(ep["id"], {"action": "patch", "replica": 1}), "Model Endpoint updated successfully")
    # Terraform sends its whole configuration on every update, with action "update" if stopped.
    _ok(tir.put(ep["id"], {**request(), "action": "update"}), "Model Endpoint updated successfully")
    assert tir.native_endpoint("vllm-chat")["generation"] == 1


def test_patch_can_move_to_another_plan(tir: Tir) -> None:
    ep = tir.created(request())
    resp = tir.put(ep["id"], {"action": "patch", "sku_id": 180, "sku_item_price_id": 1801})
    assert resp.status_code == 200, resp.text
    resources = tir.native_endpoint("vllm-chat")["spec"]["resources"]
    assert (resources["gpu_type"], resources["gpu_count"]) == ("H100-80GB", 1)
    assert tir.get(ep["id"])["sku_details"]["specs"]["sku_id"] == 180


def test_patch_can_pick_a_plan_by_name_alone(tir: Tir) -> None:
    """A Terraform-style sku_name replaces the plan the endpoint was created with by ids."""
    ep = tir.created(request())
    body = {"action": "patch", "sku_name": "C3.4", "sku_type": "committed", "committed_days": 30}
    resp = tir.put(ep["id"], body)
    assert resp.status_code == 200, resp.text
    assert tir.native_endpoint("vllm-chat")["spec"]["resources"]["cpu"] == 4
    plan = tir.get(ep["id"])["sku_details"]["plan"]
    assert (plan["sku_item_price_id"], plan["sku_type"], plan["committed_days"]) == (
        1012,
        "committed",
        30,
    )


def test_patch_keeps_what_only_the_native_api_can_say(tir: Tir, tmp_path: Path) -> None:
    ep = tir.created(llamacpp_request(gguf_file(tmp_path)))
    labels = {"spec": {"labels": {"team": "search"}, "max_concurrency": 4}}
    assert tir.native("PATCH", "/endpoints/smol-chat", json=labels).status_code == 200
    assert tir.put(ep["id"], {"action": "patch", "replica": 3}).status_code == 200
    spec = tir.native_endpoint("smol-chat")["spec"]
    assert (spec["replicas"], spec["labels"], spec["max_concurrency"]) == (3, {"team": "search"}, 4)


def test_update_auto_scale(tir: Tir) -> None:
    ep = tir.created(request())
    body = {
        "action": "update_auto_scale",
        "is_auto_scale_enabled": True,
        "auto_scale_policy": {
            "min_replicas": 1,
            "max_replicas": 5,
            "stability_period": 60,
            "rules": [{"metric": "concurrency", "condition_type": "limit", "value": 8}],
        },
        "replica": 4,  # not an autoscale field: ignored by this action
    }
    _ok(tir.put(ep["id"], body), "Model Endpoint auto scale policy updated successfully")
    spec = tir.native_endpoint("vllm-chat")["spec"]
    assert spec["replicas"] == 1
    assert spec["autoscale"]["enabled"] is True
    assert spec["autoscale"]["max_replicas"] == 5
    assert spec["autoscale"]["rules"][0]["metric"] == "concurrency"
    assert spec["autoscale"]["rules"][0]["value"] == 8
    data = tir.get(ep["id"])
    assert data["is_auto_scale_enabled"] is True
    assert data["auto_scale_policy"]["max_replicas"] == 5
    assert data["auto_scale_policy"]["rules"][0]["metric"] == "concurrency"


def test_update_async_configuration(tir: Tir) -> None:
    ep = tir.created(request())
    body = {
        "action": "update_async_configuration",
        "async_enabled": True,
        "async_concurrent_workers": 4,
        "async_dataset_id": 77,
        "async_destination_type": "dataset",
        "async_target_routes": [{"route_name": "chat", "route_value": "/v1/chat/completions"}],
    }
    _ok(tir.put(ep["id"], body), "Model Endpoint async configuration updated successfully")
    config = tir.native_endpoint("vllm-chat")["spec"]["async_config"]
    assert config == {
        "enabled": True,
        "concurrent_workers": 4,
        "dataset_id": "77",
        "destination_type": "dataset",
        "target_routes": [{"route_name": "chat", "route_value": "/v1/chat/completions"}],
    }
    assert tir.get(ep["id"])["async_configuration"]["async_concurrent_workers"] == 4
    off = {"action": "update_async_configuration", "async_enabled": False}
    assert tir.put(ep["id"], off).status_code == 200
    assert tir.native_endpoint("vllm-chat")["spec"]["async_config"]["enabled"] is False
    assert tir.get(ep["id"])["async_configuration"]["async_enabled"] is False


def test_delete_tears_down_and_revokes_the_inference_key(tir: Tir) -> None:
    ep = tir.created(request())
    key = ep["api_key"]
    resp = tir.call("DELETE", f"/serving/inference/{ep['id']}/")
    assert resp.status_code == 200, resp.text
    assert resp.json()["message"] == "Deleted Successfully"
    assert tir.get(ep["id"])["status"] == "Terminating"
    assert tir.native_endpoint("vllm-chat")["desired_state"] == "deleted"
    denied = tir.client.get("/api/v1/whoami", headers={"Authorization": f"Bearer {key}"})
    assert denied.status_code == 401


def test_a_viewer_may_read_but_not_act(tir: Tir) -> None:
    ep = tir.created(request())
    read = tir.call("GET", f"/serving/inference/{ep['id']}/", who="viewer")
    assert read.status_code == 200
    resp = tir.call("PUT", f"/serving/inference/{ep['id']}/", who="viewer", json={"action": "stop"})
    assert resp.status_code == 403
    assert resp.json()["code"] == 403
    assert tir.native_endpoint("vllm-chat")["desired_state"] == "running"


def test_another_projects_endpoint_is_not_found(tir: Tir) -> None:
    ep = tir.created(request())
    other = tir.world.other_project.id
    resp = tir.call(
        "GET", f"/serving/inference/{ep['id']}/", who="other_admin", params={"project_id": other}
    )
    assert resp.status_code == 404
    assert "inference_id" in resp.json()["errors"]
