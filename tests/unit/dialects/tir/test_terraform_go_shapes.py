"""TIR's own Go Terraform provider (terraform-provider-tir) against /tir/terraform, its
api_endpoint here. Go is not on these machines, so its requests are replayed: each constant below
is what the provider sends for seed 001's example configuration (model_load_integration_id = 7,
team_id = "4242", active_iam = "1234"), written out by hand from its Go source
(createPayloadForInference, models.ModelEndpoint's field order and omitempty tags,
encoding/json's sorted map keys, url.Values.Encode's sorted query), NOT captured from a run.
Every GET answer goes through go_read.go_read, a mirror of the provider's SetSchemaFromResponse."""

from __future__ import annotations

import json
from typing import Any

import httpx

from modelport.dialects.tir.go_provider import for_go_provider
from modelport.terraform.tir_plans import flatten
from tests.unit.dialects.tir.conftest import Tir
from tests.unit.dialects.tir.go_read import go_read

TEAM = "4242"
# The query strings NewEndoint / GetEndpoint (and Update, Delete) / GetPlansModelEndpoint build.
# `prefix` is encoded twice: the Go code adds "models%2F" to url.Values, which encodes it again.
CREATE_QUERY = "active_iam=1234&apikey=tir-api-key&prefix=models%252F"
ONE_QUERY = "active_iam=1234&apikey=tir-api-key"
SKU_QUERY = "active_iam=1234&apikey=tir-api-key&framework=vllm&service=inference_service"

_PROBE = (
    '"protocol":"http","initial_delay_seconds":10,"success_threshold":1,"failure_threshold":3,'
    '"port":8080,"period_seconds":10,"timeout_seconds":10'
)  # grpc_service and commands are "" and omitempty
_ENDPOINT = (
    '"name":"name","path":"","custom_endpoint_details":{"service_port":false,"metric_port":false,'
    '"container":{"container_name":"pytorch/torchserve:0.9.0","container_type":"public",'
    '"private_image_details":{},"advance_config":{"image_pull_policy":"Always",'
    '"is_readiness_probe_enabled":false,"is_liveness_probe_enabled":false,'
    '"readiness_probe":{' + _PROBE + ',"path":"/health"},'
    '"liveness_probe":{' + _PROBE + ',"path":"/metrics"}}},'
    '"resource_details":{"disk_size":100,"mount_path":"","env_variables":['
    '{"key":"HF_HdfsfOME","value":"ENV_VALUE","disabled":{"key":true,"value":false},'
    '"required":true},'
    '{"key":"HF_HOMsE","value":"ENV_VALsUE","disabled":{"key":true,"value":false},'
    '"required":true}]},"public_ip":"no"},'
    '"model_id":null,"sku_name":"C3.2","sku_type":"hourly","committed_days":0,'
    '"committed_instance_policy":"","replica":REPLICA,"committed_replicas":0,'
    '"framework":"pytorch","is_auto_scale_enabled":false,'
    '"auto_scale_policy":{"min_replica":1,"max_replica":1,"stability_period":300,"rules":['
    '{"condition_type":"limit","custom_metric_name":"","granularity":1,"metric":"","value":10,'
    '"watch_period":60,"window":1}]},'
    '"detailed_info":{"args":"","commands":"","engine_args":ENGINE_ARGS,"error_log":true,'
    '"hugging_face_id":"","info_log":true,"log_verbose_level":1,"model_serve_type":"",'
    '"server_version":"v0.9.0","tokenizer":"","warning_log":true,"world_size":1},'
    '"model_load_integration_id":7,"dataset_id":null,"dataset_path":"",'
    '"cluster_type":"tir-cluster","storage_type":"disk","sfs_path":"/shared/.cache",'
    '"disk_path":"/mnt/models","category":"inference_service","location":"Delhi",'
    '"currency":"INR"}'
)
# POST .../serving/inference/ (resourceCreateModelEndpoint): no action, replica 1, no engine_args.
GO_CREATE = "{" + _ENDPOINT.replace("REPLICA", "1").replace("ENGINE_ARGS", "{}")
# PUT .../{id}/ after `replica = 2` and `engine_args = { batch_size = "8", use_cache = "true" }`
# while running (convertEngineArgs makes "8" a number and "true" a boolean).
GO_PATCH = '{"action":"patch",' + _ENDPOINT.replace("REPLICA", "2").replace(
    "ENGINE_ARGS", '{"batch_size":8,"use_cache":true}'
)
# The same PUT with `replica = 3` while the provider's state says stopped.
GO_UPDATE = '{"action":"update",' + _ENDPOINT.replace("REPLICA", "3").replace(
    "ENGINE_ARGS", '{"batch_size":8,"use_cache":true}'
)
GO_STOP = '{"action":"stop"}'  # UpdateStartStopInference
GO_START = '{"action":"start"}'


def go_call(
    tir: Tir, method: str, path: str, query: str, body: str | None = None
) -> httpx.Response:
    """A request as the Go client sends it: Bearer token, JSON content type, its user agent."""
    headers = {
        "Authorization": f"Bearer {tir.world.keys['admin']}",
        "Content-Type": "application/json",
        "User-Agent": "terraform/e2e",
    }
    url = f"/tir/terraform{path}?{query}"
    return tir.client.request(method, url, headers=headers, content=body)


def inference(tir: Tir, endpoint_id: int | None = None) -> str:
    path = f"/teams/{TEAM}/projects/{tir.project_id}/serving/inference/"
    return path if endpoint_id is None else f"{path}{endpoint_id}/"


def go_create(tir: Tir) -> int:
    resp = go_call(tir, "POST", inference(tir), CREATE_QUERY, GO_CREATE)
    assert resp.status_code == 201, resp.text  # CheckResponseStatus: any 2xx
    data = resp.json()["data"]  # resourceCreateModelEndpoint reads these three, as asserted
    assert isinstance(data["id"], int) and not isinstance(data["id"], bool)
    assert isinstance(data["status"], str) and isinstance(data["created_at"], str)
    return int(data["id"])


def go_get(tir: Tir, endpoint_id: int) -> dict[str, Any]:
    """The provider's Read: GET, then SetSchemaFromResponse (go_read fails where it would)."""
    resp = go_call(tir, "GET", inference(tir, endpoint_id), ONE_QUERY)
    assert resp.status_code == 200, resp.text
    return go_read(resp.json())


def go_put(tir: Tir, endpoint_id: int, body: str) -> None:
    resp = go_call(tir, "PUT", inference(tir, endpoint_id), ONE_QUERY, body)
    assert resp.status_code == 200, resp.text  # UpdateEndpoint: anything but 200 is an error
    json.loads(resp.text)  # and it unmarshals the body


def spec_of(tir: Tir) -> dict[str, Any]:
    return dict(tir.native_endpoint("name")["spec"])


def test_create_as_the_go_provider_sends_it(tir: Tir) -> None:
    endpoint_id = go_create(tir)
    spec = spec_of(tir)
    assert (spec["framework"], spec["model"]["image"]) == ("torchserve", "pytorch/torchserve:0.9.0")
    assert (spec["replicas"], spec["server_version"], spec["model"]["integration"]) == (
        1,
        "v0.9.0",
        "7",
    )
    assert spec["resources"]["cpu"] == 2  # plan C3.2
    assert [(e["name"], e["value"]) for e in spec["env"]] == [
        ("HF_HdfsfOME", "ENV_VALUE"),
        ("HF_HOMsE", "ENV_VALsUE"),
    ]
    assert spec["autoscale"]["enabled"] is False
    state = go_get(tir, endpoint_id)
    # What the provider's state holds after its Read: the configuration, so no diff.
    assert {
        k: state[k] for k in ("name", "sku_name", "sku_type", "committed_days", "currency")
    } == {
        "name": "name",
        "sku_name": "C3.2",
        "sku_type": "hourly",
        "committed_days": 0,
        "currency": "INR",
    }
    assert (state["replica"], state["disk_path"], state["sfs_path"], state["public_ip"]) == (
        1,
        "/mnt/models",
        "/shared/.cache",
        "no",
    )
    assert state["auto_scale_policy"] == [
        {"min_replicas": 1, "max_replicas": 1, "stability_period": 300, "rules": [
            {"metric": "", "value": 10, "condition_type": "limit", "watch_period": 60,
             "granularity": 1, "window": 1, "custom_metric_name": ""}]}
    ]  # fmt: skip
    assert state["readiness_probe"][0]["port"] == 8080
    assert state["resource_details"][0]["env_variables"][0] == {
        "key": "HF_HdfsfOME",
        "value": "ENV_VALUE",
        "required": True,
        "disabled": {"key": True, "value": False},
    }


def test_patch_changes_replicas_and_engine_args(tir: Tir) -> None:
    endpoint_id = go_create(tir)
    generation = tir.native_endpoint("name")["generation"]
    go_put(tir, endpoint_id, GO_PATCH)
    endpoint = tir.native_endpoint("name")
    assert endpoint["spec"]["replicas"] == 2
    assert endpoint["spec"]["engine_args"] == {"batch_size": 8, "use_cache": True}
    assert endpoint["generation"] > generation  # the replicas roll onto it
    state = go_get(tir, endpoint_id)
    assert state["replica"] == 2
    assert state["detailed_info"][0]["engine_args"] == {"batch_size": "8", "use_cache": "true"}


def test_patch_changes_the_autoscale_bounds_it_sends_singular(tir: Tir) -> None:
    """It sends min_replica / max_replica: a patch must change the bounds the endpoint was
    created with (merged as sent, the stored min_replicas / max_replicas won)."""
    endpoint_id = go_create(tir)
    bounds = '"is_auto_scale_enabled":true,"auto_scale_policy":{"min_replica":2,"max_replica":4,'
    unbounded = (
        '"is_auto_scale_enabled":false,"auto_scale_policy":{"min_replica":1,"max_replica":1,'
    )
    body = GO_PATCH.replace(unbounded, bounds).replace('"metric":""', '"metric":"concurrency"')
    assert body.count('min_replica":2') == 1 and '"metric":"concurrency"' in body
    go_put(tir, endpoint_id, body)
    autoscale = spec_of(tir)["autoscale"]
    assert (autoscale["min_replicas"], autoscale["max_replicas"]) == (2, 4)
    policy = go_get(tir, endpoint_id)["auto_scale_policy"][0]
    assert (policy["min_replicas"], policy["max_replicas"]) == (2, 4)


def test_stop_update_while_stopped_and_start(tir: Tir) -> None:
    endpoint_id = go_create(tir)
    go_put(tir, endpoint_id, GO_STOP)
    assert tir.native_endpoint("name")["desired_state"] == "stopped"
    assert go_get(tir, endpoint_id)["status"] == "stopped"  # lower case, as the Go code compares
    go_put(tir, endpoint_id, GO_UPDATE)
    endpoint = tir.native_endpoint("name")
    assert (endpoint["spec"]["replicas"], endpoint["desired_state"]) == (3, "stopped")
    go_put(tir, endpoint_id, GO_START)
    assert tir.native_endpoint("name")["desired_state"] == "running"
    assert go_get(tir, endpoint_id)["replica"] == 3


def test_delete(tir: Tir) -> None:
    endpoint_id = go_create(tir)
    resp = go_call(tir, "DELETE", inference(tir, endpoint_id), ONE_QUERY)
    assert resp.status_code == 200, resp.text
    assert tir.native_endpoint("name")["desired_state"] == "deleted"


def test_plans_as_the_data_source_reads_them(tir: Tir) -> None:
    resp = go_call(tir, "GET", "/gpu_service/sku/", SKU_QUERY)
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["CPU"] == [] and data["GPU"]  # vLLM runs on GPU plans
    rows = flatten(data)  # the data source's flattening, as dataSourcePlansModelEndpointRead
    assert len(rows) == sum(len(entry["plans"]) for entry in data["GPU"])
    kinds = {"sku_name": str, "cpu": str, "gpu": str, "memory": str, "sku_type": str,
             "committed_days": int, "unit_price": int | float, "currency": str}  # fmt: skip
    for row in rows:
        assert {k: isinstance(row[k], kind) for k, kind in kinds.items()} == dict.fromkeys(
            kinds, True
        ), row


def _autoscaled(tir: Tir) -> int:
    """An endpoint with what the seed example leaves out: autoscaling rules (a fractional
    threshold), an enabled probe on another port, a secret env variable, commands."""
    body = json.loads(GO_CREATE)
    body.update(name="autoscaled", is_auto_scale_enabled=True)
    rule = {"condition_type": "limit", "custom_metric_name": "", "granularity": 1,
            "metric": "concurrency", "value": 2.5, "watch_period": 60, "window": 1}  # fmt: skip
    body["auto_scale_policy"] = {
        "min_replica": 1,
        "max_replica": 3,
        "stability_period": 90,
        "rules": [rule],
    }
    advance = body["custom_endpoint_details"]["container"]["advance_config"]
    advance.update(is_readiness_probe_enabled=True)
    advance["readiness_probe"].update(port=9090)
    env = body["custom_endpoint_details"]["resource_details"]["env_variables"]
    env.append({"key": "HF_TOKEN", "value": "hf_never-shown-0042", "disabled": {},
                "required": False})  # fmt: skip
    resp = go_call(tir, "POST", inference(tir), CREATE_QUERY, json.dumps(body))
    assert resp.status_code == 201, resp.text
    return int(resp.json()["data"]["id"])


def test_every_answer_reads_in_the_go_schema(tir: Tir) -> None:
    """Endpoints made by the Go provider, with more blocks set, and through the native API
    (no TIR request kept) all pass SetSchemaFromResponse, one by one and in the listing."""
    ids = [go_create(tir), _autoscaled(tir)]
    native = {"name": "native-one", "spec": {"framework": "custom", "replicas": 0,
              "command": ["python", "-m", "http.server", "{port}"]}}  # fmt: skip
    assert tir.native("POST", "/endpoints", json=native).status_code == 201, "native create"
    listed = go_call(tir, "GET", inference(tir), ONE_QUERY)
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["data"]) == 3
    for data in listed.json()["data"]:
        state = go_read({"data": data})
        if data["id"] not in ids:
            assert state["detailed_info"][0]["world_size"] == 1  # synthesized, still complete
            continue
        assert go_get(tir, data["id"]) == state
    autoscaled = go_get(tir, ids[1])
    assert autoscaled["auto_scale_policy"][0]["stability_period"] == 90
    assert autoscaled["auto_scale_policy"][0]["rules"][0]["value"] == 2  # Go's TypeInt
    assert (autoscaled["is_readiness_probe_enabled"], autoscaled["readiness_probe"][0]["port"]) == (
        True,
        9090,
    )
    secret = autoscaled["resource_details"][0]["env_variables"][-1]
    assert secret["key"] == "HF_TOKEN" and "hf_never-shown" not in json.dumps(autoscaled)


def test_other_prefixes_keep_their_answers(tir: Tir) -> None:
    """The e2enetworks SDK's prefix (and TIR's REST one) still say initial_cooldown_period and
    which env values are secret; only /tir/terraform answers in the Go schema."""
    endpoint_id = _autoscaled(tir)
    sdk = tir.client.get(
        f"/tir/api/v1/gpu/teams/{TEAM}/projects/{tir.project_id}/serving/inference/{endpoint_id}/",
        headers={"Authorization": f"Bearer {tir.world.keys['admin']}"},
    ).json()["data"]
    for data in (sdk, tir.get(endpoint_id)):
        assert data["auto_scale_policy"]["initial_cooldown_period"] == 0
        env = data["custom_endpoint_details"]["resource_details"]["env_variables"]
        assert [e["secret"] for e in env] == [False, False, True]
    go = go_call(tir, "GET", inference(tir, endpoint_id), ONE_QUERY).json()["data"]
    assert "initial_cooldown_period" not in go["auto_scale_policy"]
    assert go["runtime"] == sdk["runtime"] and go["inference_url"] == sdk["inference_url"]


def test_missing_or_null_blocks_still_read() -> None:
    """Where an answer lacks a block or key the Go code indexes (detailed_info as a map, a probe
    port, stability_period), the Terraform shape has the Go zero value instead of a panic."""
    data = {
        "name": "x",
        "status": "Running",
        "detailed_info": None,
        "auto_scale_policy": {"rules": [{"metric": "cpu", "extra": 1}]},
        "custom_endpoint_details": {"container": {"advance_config": {"readiness_probe": {}}}},
    }
    state = go_read({"data": for_go_provider(data)})
    assert state["detailed_info"][0]["world_size"] == 0
    assert state["auto_scale_policy"][0]["stability_period"] == 0
    assert state["auto_scale_policy"][0]["rules"][0]["metric"] == "cpu"
    assert state["readiness_probe"][0]["port"] == 0
    assert state["resource_details"] == [{"disk_size": 0, "mount_path": "", "env_variables": []}]
