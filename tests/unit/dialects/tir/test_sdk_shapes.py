"""The e2enetworks SDK's shapes: its URLs (team/project in the path, ?apikey=&location=), its
create body (nulls, base64 Python lists, no price id, no autoscale policy), its plan names,
replica names, async status and the calls that do not apply here. The SDK itself is driven
against a real server in tests/clients/test_e2enetworks_client.py."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.domain.records import Endpoint, ReplicaHandle
from modelport.domain.states import ReplicaState
from tests.unit.dialects.tir.conftest import Tir, gguf_file
from tests.unit.dialects.tir.test_bad_input import assert_field_error

TEAM = "4242"  # any value: Modelport has no teams
CPU_PLAN = "CPU-C3.2-2-8GB-0"  # what the SDK builds from the C3.2 plan entry
GPU_PLAN = "GPU-GDC3.A10080-16-115GB-1"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def sdk(
    tir: Tir, method: str, path: str, project: int | None = None, who: str = "admin", **kwargs: Any
) -> Any:
    """A call as the SDK makes it: team and project in the path, apikey and location after."""
    project = tir.project_id if project is None else project
    url = f"/tir/api/v1/gpu/teams/{TEAM}/projects/{project}{path}"
    headers = {"Authorization": f"Bearer {tir.world.keys[who]}"}
    params = {"apikey": "e2e-api-key", "location": "Delhi", **kwargs.pop("params", {})}
    return tir.client.request(method, url, headers=headers, params=params, **kwargs)


def skus(tir: Tir, framework: str) -> dict[str, list[dict[str, Any]]]:
    resp = tir.client.get(
        "/tir/api/v1/gpu/gpu_service/sku/",
        params={"framework": framework, "service": "inference_service", "apikey": "k",
                "location": "Delhi"},
        headers={"Authorization": f"Bearer {tir.world.keys['admin']}"},
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    data: dict[str, list[dict[str, Any]]] = resp.json()["data"]
    return data


def short_code(sku: dict[str, Any]) -> str:
    """The SDK's helpers.cpu_plan_short_code / gpu_plan_short_code, verbatim in effect."""
    gpu = sku.get("gpu") if sku.get("gpu") else 0
    return f"{sku['series']}-{sku['sku_type'].split('-')[0]}-{sku['cpu']}-{sku['memory']}-{gpu}"


def plan_to_sku_id(found: dict[str, list[dict[str, Any]]], plan: str) -> int | None:
    group = found["CPU"] if plan.startswith("CPU") else found["GPU"]
    return next((s["sku_id"] for s in group if short_code(s) == plan), None)


def sdk_create_body(gguf: Path, sku_id: int, **overrides: Any) -> dict[str, Any]:
    """EndPoints.create(framework="custom", ...) as the SDK builds it, autoscaling off."""
    commands = ["python", "-m", "llama_cpp.server", "--model", str(gguf), "--port", "{port}"]
    body: dict[str, Any] = {
        "name": "sdk-custom",
        "world_size": 1,
        "custom_endpoint_details": {
            "container": {
                "container_name": "ghcr.io/example/llama-server:1",
                "container_type": "public",
                "private_image_details": {},
                "advance_config": {
                    "image_pull_policy": "Always",
                    "is_readiness_probe_enabled": "false",
                    "is_liveness_probe_enabled": "false",
                    "readiness_probe": _probe(),
                    "liveness_probe": _probe(),
                },
            },
            "resource_details": {"disk_size": 50, "mount_path": "", "env_variables": []},
        },
        "model_id": None,
        "sku_id": sku_id,
        "replica": 1,
        "path": "",
        "framework": "custom",
        "is_auto_scale_enabled": False,
        "detailed_info": {
            "commands": b64(str(commands)),
            "args": b64(str([])),
            "hugging_face_id": None,
            "tokenizer": "",
        },
        "model_load_integration_id": None,
        "dataset_id": None,
        "dataset_path": None,
    }
    body.update(overrides)
    return body


def _probe() -> dict[str, Any]:
    return {
        "protocol": "http",
        "initial_delay_seconds": 10,
        "success_threshold": 1,
        "failure_threshold": 3,
        "port": 8080,
        "period_seconds": 10,
        "timeout_seconds": 10,
        "path": "/metrics",
        "grpc_service": "",
        "commands": "",
    }


@pytest.fixture
def created(tir: Tir, tmp_path: Path) -> dict[str, Any]:
    body = sdk_create_body(gguf_file(tmp_path), plan_to_sku_id(skus(tir, "custom"), CPU_PLAN) or 0)
    resp = sdk(tir, "POST", "/serving/inference/", json=body)
    assert resp.status_code == 201, resp.text
    data: dict[str, Any] = resp.json()["data"]
    return data


def test_plan_entries_carry_what_the_sdk_names_plans_by(tir: Tir) -> None:
    found = skus(tir, "custom")
    cpu = {short_code(s): s for s in found["CPU"]}
    assert cpu[CPU_PLAN]["sku_id"] == 101
    assert cpu[CPU_PLAN]["code"] == CPU_PLAN
    assert {(s["is_free"], s["is_inventory_available"]) for s in found["CPU"]} == {(False, True)}
    # A GPU framework lists GPU plans only, named GPU-...; the location picks sku 162, not 40.
    gpu = skus(tir, "vllm")
    assert gpu["CPU"] == []
    assert plan_to_sku_id(gpu, GPU_PLAN) == 162
    assert len({short_code(s) for s in gpu["GPU"]}) == len(gpu["GPU"])  # names are unique


def test_the_sdk_create_body_makes_a_custom_endpoint(tir: Tir, created: dict[str, Any]) -> None:
    spec = tir.native_endpoint("sdk-custom")["spec"]
    # The base64 Python list is the command; no price id: the plan's hourly price.
    assert spec["command"][:3] == ["python", "-m", "llama_cpp.server"]
    assert spec["command"][-2:] == ["--port", "{port}"]
    assert spec["resources"]["cpu"] == 2
    assert created["sku_details"]["plan"]["sku_item_price_id"] == 1001
    assert created["sku_details"]["plan"]["sku_type"] == "hourly"
    # Unset strings came as null; the policy was left out: defaults, autoscaling off.
    assert created["dataset_path"] == ""
    assert created["detailed_info"]["hugging_face_id"] == ""
    assert created["is_auto_scale_enabled"] is False
    assert created["auto_scale_policy"]["initial_cooldown_period"] == 0
    assert (created["async_enabled"], created["async_dataset_id"]) == (False, None)


def test_both_url_shapes_reach_the_same_endpoints(tir: Tir, created: dict[str, Any]) -> None:
    by_path = sdk(tir, "GET", f"/serving/inference/{created['id']}/").json()["data"]
    by_query = tir.get(created["id"])
    assert by_path["id"] == by_query["id"] == created["id"]
    listed = sdk(tir, "GET", "/serving/inference/").json()["data"]
    assert [e["id"] for e in listed] == [created["id"]]


def test_another_project_in_the_path_is_not_found(tir: Tir, created: dict[str, Any]) -> None:
    other = tir.world.other_project.id
    assert_field_error(sdk(tir, "GET", "/serving/inference/", project=other), 404, "project")
    # Another project's token cannot reach this project's endpoint by naming it in the path.
    resp = sdk(tir, "GET", f"/serving/inference/{created['id']}/", who="other_admin")
    assert_field_error(resp, 404, "project")
    # Without a token: 401, whatever the path says.
    resp = tir.client.get(
        f"/tir/api/v1/gpu/teams/{TEAM}/projects/{tir.project_id}/serving/inference/"
    )
    assert resp.status_code == 401


def test_cpu_autoscaling_as_the_sdk_sends_it(tir: Tir, tmp_path: Path) -> None:
    policy = {
        "min_replicas": 1,
        "max_replicas": 2,
        "rules": [{"metric": "cpu", "condition_type": "limit", "value": 12, "watch_period": "60"}],
        "stability_period": "300",
    }
    body = sdk_create_body(
        gguf_file(tmp_path), 101, is_auto_scale_enabled=True, auto_scale_policy=policy
    )
    resp = sdk(tir, "POST", "/serving/inference/", json=body)
    assert resp.status_code == 201, resp.text
    autoscale = tir.native_endpoint("sdk-custom")["spec"]["autoscale"]
    assert autoscale["enabled"] is True
    assert [r["metric"] for r in autoscale["rules"]] == ["cpu"]
    data = resp.json()["data"]
    assert data["auto_scale_policy"]["rules"][0]["metric"] == "cpu"

    # upscale_replica: the rule and the cooldown as GET answered them, min and max raised.
    sent = copy.deepcopy(data["auto_scale_policy"])
    sent.update(min_replicas=2, max_replicas=3, initial_cooldown_period=30)
    resp = sdk(tir, "PUT", f"/serving/inference/{data['id']}/",
               json={"action": "update_auto_scale", "auto_scale_policy": sent})  # fmt: skip
    assert resp.status_code == 200, resp.text
    after = tir.get(data["id"])["auto_scale_policy"]
    assert (after["min_replicas"], after["max_replicas"]) == (2, 3)
    assert after["initial_cooldown_period"] == 30


def test_disable_auto_scale_sets_the_replica_count(tir: Tir, created: dict[str, Any]) -> None:
    resp = sdk(tir, "PUT", f"/serving/inference/{created['id']}/",
               json={"action": "disable_auto_scale", "replicas": 3})  # fmt: skip
    assert resp.status_code == 200, resp.text
    spec = tir.native_endpoint("sdk-custom")["spec"]
    assert (spec["replicas"], spec["autoscale"]["enabled"]) == (3, False)
    assert tir.get(created["id"])["replica"] == 3
    resp = sdk(tir, "PUT", f"/serving/inference/{created['id']}/",
               json={"action": "disable_auto_scale"})  # fmt: skip
    assert_field_error(resp, 400, "replicas")


SDK_BAD_BODIES = [
    ("python list of ints", {"detailed_info": {"commands": b64("['python', 3]")}},
     "detailed_info.commands"),
    ("list of lists", {"detailed_info": {"commands": b64("[['python']]")}},
     "detailed_info.commands"),
    ("unparsable list", {"detailed_info": {"args": b64("['python', ")}}, "detailed_info.args"),
    ("code, not a literal", {"detailed_info": {"args": "[__import__('os')]"}},
     "detailed_info.args"),
    ("world sizes disagree", {"world_size": 2, "detailed_info": {"world_size": 1}}, "world_size"),
    ("unknown metric", {"is_auto_scale_enabled": True,
                        "auto_scale_policy": {"rules": [{"metric": "gpu"}]}},
     "auto_scale_policy.rules.0.metric"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "change", "field"), SDK_BAD_BODIES, ids=[c[0] for c in SDK_BAD_BODIES]
)
def test_bad_sdk_bodies_name_the_field(
    tir: Tir, tmp_path: Path, case: str, change: dict[str, Any], field: str
) -> None:
    body = sdk_create_body(gguf_file(tmp_path), 101)
    for key, value in change.items():
        body[key] = {**body[key], **value} if isinstance(value, dict) and key in body else value
    assert_field_error(sdk(tir, "POST", "/serving/inference/", json=body), 400, field)


def _replicas(
    tir: Tir, name: str, states: list[ReplicaState], log_path: str | None = None
) -> list[int]:
    """Replicas in the store as the controller would have left them."""
    endpoint: Endpoint = tir.world.store.get_endpoint_by_name(tir.project_id, name)
    ids = []
    for i, state in enumerate(states):
        now = tir.world.clock.now()
        replica = tir.world.store.create_replica(endpoint.id, endpoint.template_generation, now)
        if state is not ReplicaState.PENDING:
            handle = ReplicaHandle(
                backend="fake", host="127.0.0.1", port=9000 + i, pid=100 + i, log_path=log_path
            )
            tir.world.store.transition_replica(
                replica.id, ReplicaState.PENDING, ReplicaState.STARTING, detail="launched",
                now=now, handle=handle,
            )  # fmt: skip
        if state is ReplicaState.READY:
            tir.world.store.transition_replica(
                replica.id, ReplicaState.STARTING, ReplicaState.READY, detail="", now=now
            )
        ids.append(replica.id)
    return ids


def test_replicas_are_listed_by_names_a_restart_takes_back(
    tir: Tir, created: dict[str, Any]
) -> None:
    ep = created["id"]
    first, second = _replicas(tir, "sdk-custom", [ReplicaState.READY, ReplicaState.PENDING])
    listed = sdk(tir, "GET", f"/serving/inference/{ep}/replicas/").json()["data"]
    assert [(r["replica_name"], r["status"]) for r in listed] == [
        (f"is-{ep}-replica-{first}", "Running"),
        (f"is-{ep}-replica-{second}", "Pending"),
    ]
    resp = sdk(tir, "DELETE", f"/serving/inference/{ep}/replicas/{listed[0]['replica_name']}/")
    assert resp.status_code == 200, resp.text
    marked = {r.id: r.restart_requested_at for r in tir.world.store.list_replicas(ep)}
    assert marked[first] is not None and marked[second] is None
    # Names of no replica, or of another endpoint's, are a 404 naming replica_name.
    for name in (f"is-{ep}-replica-99999", f"is-{ep + 1}-replica-{first}", "pod-abc"):
        resp = sdk(tir, "DELETE", f"/serving/inference/{ep}/replicas/{name}/")
        assert_field_error(resp, 404, "replica_name")


def test_logs_are_per_replica(tir: Tir, created: dict[str, Any], tmp_path: Path) -> None:
    ep = created["id"]
    log = tmp_path / "replica.log"
    log.write_text("llama server listening\n")
    (replica,) = _replicas(tir, "sdk-custom", [ReplicaState.STARTING], log_path=str(log))
    resp = sdk(tir, "GET", f"/serving/inference/{ep}/logs/")
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"] == [
        {"replica_name": f"is-{ep}-replica-{replica}", "logs": "llama server listening\n"}
    ]


def test_async_status_finds_no_request(tir: Tir, created: dict[str, Any]) -> None:
    ep = created["id"]
    page = sdk(tir, "GET", f"/serving/inference/{ep}/async_status/",
               params={"date_filter": "last_hour", "page_no": 1, "per_page": 5})  # fmt: skip
    assert (page.status_code, page.json()["data"]) == (200, [])
    resp = sdk(tir, "GET", f"/serving/inference/{ep}/async_status/", params={"request_id": "r-1"})
    assert_field_error(resp, 404, "request_id")
    resp = sdk(tir, "GET", f"/serving/inference/{ep}/async_status/",
               params={"date_filter": "yesterday"})  # fmt: skip
    assert_field_error(resp, 400, "date_filter")


@pytest.mark.parametrize(
    "path",
    [
        "/container_registry/",
        "/container_registry/7/namespace-repository/",
        "/integrations/",
        "/dashboard/service-count/",
    ],
)
def test_e2e_account_calls_say_they_do_not_apply(tir: Tir, path: str) -> None:
    resp: httpx.Response = sdk(tir, "GET", path)
    feature = path.split("/")[1]
    answer = assert_field_error(resp, 404, feature)
    assert "not part of a self-hosted Modelport server" in answer["message"]


def test_other_plan_services_do_not_apply(tir: Tir) -> None:
    resp = tir.client.get(
        "/tir/api/v1/gpu/gpu_service/sku/",
        params={"service": "notebook", "apikey": "k", "location": "Delhi"},
        headers={"Authorization": f"Bearer {tir.world.keys['admin']}"},
    )
    assert_field_error(resp, 400, "service")
