"""Deploying through the Tensormesh API: the seed's own request, its response shape, and what
each field becomes in the endpoint the native API shows."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from modelport.controller.loop import Controller
from modelport.runtime.fake import FakeRuntime
from modelport.settings import Settings
from tests.unit.dialects.tensormesh.conftest import USER_ID, Tm, body

# The seed's example request (seed 003), verbatim but for its placeholders.
SEED_REQUEST: dict[str, Any] = {
    "modelName": "qwen-chat",
    "userId": USER_ID,
    "description": "Qwen chat for the support team",
    "infra": {
        "cloudProvider": "CLOUD_PROVIDER_UNSPECIFIED",
        "nebiusRegion": "NEBIUS_REGION_UNSPECIFIED",
        "lambdaRegion": "LAMBDA_REGION_UNSPECIFIED",
        "onpremRegion": "rack-7",
    },
    "modelPath": "Qwen/Qwen2.5-0.5B-Instruct",
    "gpuCount": 1,
    "gpuType": "GPU_TYPE_UNSPECIFIED",
    "modelSpec": {},
    "apiKey": "tm-key-0123456789abcdef",
    "hfToken": "hf_seedS3cretToken0123",
    "kvCacheEnabled": True,
    "cpuOffloadingEnabled": True,
    "nodeId": "node-a1",
}
MODEL_FIELDS = {
    "modelId", "deploymentId", "userId", "description", "modelPath", "modelName", "status",
    "events", "createdAt", "updatedAt", "modelSpec", "infra", "gpuCount", "gpuType", "replicas",
    "endpoint", "apiKey",
}  # fmt: skip
INFRA_FIELDS = {"cloudProvider", "nebiusRegion", "lambdaRegion", "onpremRegion"}


def native(tm: Tm, name: str) -> dict[str, Any]:
    resp = tm.client.get(
        f"/api/v1/endpoints/{name}", headers={"Authorization": f"Bearer {tm.world.keys['admin']}"}
    )
    assert resp.status_code == 200, resp.text
    endpoint: dict[str, Any] = resp.json()
    return endpoint


def test_the_seed_request_deploys_and_answers_in_the_seed_shape(tm: Tm):
    resp = tm.deploy(SEED_REQUEST)
    assert resp.status_code == 200, resp.text
    assert set(resp.json()) == {"model"}
    model = resp.json()["model"]
    assert set(model) == MODEL_FIELDS
    assert set(model["infra"]) == INFRA_FIELDS
    assert str(uuid.UUID(model["modelId"])) == model["modelId"]
    for echoed in ("modelName", "userId", "description", "modelPath", "modelSpec", "infra"):
        assert model[echoed] == SEED_REQUEST[echoed], echoed
    assert (model["gpuCount"], model["gpuType"], model["replicas"]) == (
        1,
        "GPU_TYPE_UNSPECIFIED",
        1,
    )
    assert model["status"] == "MODEL_STATUS_DEPLOYING"
    assert model["endpoint"] == "http://127.0.0.1:8080/tensormesh/openai"
    assert model["apiKey"] == SEED_REQUEST["apiKey"]  # shown in this response only
    assert model["createdAt"] == "2026-01-01T00:00:00Z" == model["updatedAt"]
    assert model["events"][0] == {
        "createdAt": "2026-01-01T00:00:00Z",
        "log": "EndpointCreated: created with generation 1",
        "eventType": "EVENT_TYPE_INFO",
    }
    assert all(set(e) == {"createdAt", "log", "eventType"} for e in model["events"])
    # onpremRegion and nodeId are kept and echoed, but placement is Modelport's: it says so.
    assert any(e["log"].startswith("PlacementIgnored: ") for e in model["events"])

    # deploymentId is the native endpoint's name: the same deployment, seen natively.
    endpoint = native(tm, model["deploymentId"])
    spec = endpoint["spec"]
    assert spec["framework"] == "vllm"
    assert spec["model"]["hf_id"] == "Qwen/Qwen2.5-0.5B-Instruct"
    assert spec["resources"]["gpu_count"] == 1 and spec["resources"]["gpu_type"] is None
    assert spec["description"] == SEED_REQUEST["description"]
    assert spec["engine_args"] == {
        "enable-prefix-caching": True,
        "kv-offloading-backend": "native",
        "kv-offloading-size": 8,
    }
    extension = spec["extensions"]["tensormesh"]
    assert (extension["modelName"], extension["modelId"]) == ("qwen-chat", model["modelId"])
    assert [(e["name"], e["secret"]) for e in spec["env"]] == [("HF_TOKEN", True)]


def test_get_and_list_show_the_model_without_its_key(tm: Tm):
    created = tm.deployed(body("first"))
    tm.deployed(body("second", userId="0b5e8f3c-1d2a-4c6b-9e7f-a1b2c3d4e5f6"))
    got = tm.call("member", "GET", f"/models/{created['modelId']}").json()["model"]
    assert got["apiKey"] == "" and created["apiKey"].startswith("mp_")
    assert {k: v for k, v in got.items() if k != "apiKey"} == {
        k: v for k, v in created.items() if k != "apiKey"
    }
    listed = tm.call("viewer", "GET", "/models").json()["models"]
    assert [m["modelName"] for m in listed] == ["first", "second"]
    assert all(m["apiKey"] == "" for m in listed)
    mine = tm.call("viewer", "GET", "/models", params={"userId": created["userId"]})
    assert [m["modelName"] for m in mine.json()["models"]] == ["first"]


def test_native_endpoints_are_not_tensormesh_models(tm: Tm):
    resp = tm.client.post(
        "/api/v1/endpoints",
        headers={"Authorization": f"Bearer {tm.world.keys['admin']}"},
        json={"name": "web", "spec": {"framework": "custom", "command": ["serve", "{port}"]}},
    )
    assert resp.status_code == 201, resp.text
    assert tm.call("admin", "GET", "/models").json() == {"models": []}


def test_the_same_request_again_returns_the_model_and_no_key(tm: Tm):
    first = tm.deployed(body("again", hfToken="hf_abcdefghijklmnopqrstu"))
    second = tm.deployed(body("again", hfToken="hf_abcdefghijklmnopqrstu"))
    assert second["modelId"] == first["modelId"]
    assert second["apiKey"] == ""
    assert len(tm.call("admin", "GET", "/models").json()["models"]) == 1


def test_a_local_gguf_runs_on_llama_cpp_and_unsupported_options_are_reported(
    tm: Tm, tmp_path: Path
):
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF")
    model = tm.deployed(
        body(
            "tiny",
            modelPath=str(gguf),
            gpuCount=0,
            gpuType="GPU_TYPE_UNSPECIFIED",
            kvCacheEnabled=True,
            cpuOffloadingEnabled=True,
        )
    )
    spec = native(tm, model["deploymentId"])["spec"]
    assert spec["framework"] == "llamacpp" and spec["model"]["path"] == str(gguf)
    assert spec["engine_args"] == {"cache": True}  # llama-cpp-python's prompt cache
    warnings = [e for e in model["events"] if e["eventType"] == "EVENT_TYPE_WARNING"]
    assert [e["log"].split(":")[0] for e in warnings] == ["OptionUnsupported"]
    assert "cpuOffloadingEnabled" in warnings[0]["log"]
    assert (model["gpuCount"], model["replicas"]) == (0, 1)


def test_cache_switches_per_engine_and_explicit_engine_args_win(tm: Tm):
    sglang = tm.deployed(
        body(
            "sg",
            kvCacheEnabled=False,
            cpuOffloadingEnabled=True,
            modelSpec={"engine": "sglang", "engineArgs": {"mem-fraction-static": 0.8}},
        )
    )
    assert native(tm, "sg")["spec"]["engine_args"] == {
        "disable-radix-cache": True,
        "enable-hierarchical-cache": True,
        "mem-fraction-static": 0.8,
    }
    assert sglang["modelSpec"] == {"engine": "sglang", "engineArgs": {"mem-fraction-static": 0.8}}
    tm.deployed(
        body(
            "vl",
            kvCacheEnabled=False,
            cpuOffloadingEnabled=True,
            modelSpec={"engineArgs": {"kv-offloading-size": 32}},
        )
    )
    assert native(tm, "vl")["spec"]["engine_args"] == {
        "enable-prefix-caching": False,
        "kv-offloading-backend": "native",
        "kv-offloading-size": 32,
    }
    tm.deployed(body("plain"))  # switches left out: the engine's defaults
    assert native(tm, "plain")["spec"]["engine_args"] == {}


def test_a_model_name_that_is_no_endpoint_name_gets_a_stable_one(tm: Tm):
    model = tm.deployed(body("Llama 3.2 / 1B Instruct"))
    assert model["modelName"] == "Llama 3.2 / 1B Instruct"
    assert model["deploymentId"].startswith("llama-3-2-1b-instruct-")
    again = tm.deployed(body("Llama 3.2 / 1B Instruct"))
    assert again["deploymentId"] == model["deploymentId"]


def test_a_gpu_model_on_a_cpu_host_is_pending_with_the_reason(tm: Tm, tmp_path: Path):
    model = tm.deployed(body("big", gpuCount=2, gpuType="GPU_TYPE_H200"))
    world = tm.world
    controller = Controller(
        world.store, FakeRuntime(gpus={}), world.box, world.clock,
        Settings(home=tmp_path / "ctl"), holder_id="test",
    )  # fmt: skip

    async def ticks() -> None:
        for _ in range(3):
            await controller.tick()
            world.clock.advance(1)

    asyncio.run(ticks())
    got = tm.call("member", "GET", f"/models/{model['modelId']}").json()["model"]
    assert got["status"] == "MODEL_STATUS_PENDING"
    assert native(tm, "big")["phase"] == "pending"
    waiting = [e for e in got["events"] if e["log"].startswith("InsufficientCapacity: ")]
    assert waiting and "needs 2x H200" in waiting[-1]["log"]
    assert waiting[-1]["eventType"] == "EVENT_TYPE_WARNING"


def test_delete_tears_down_and_the_model_then_disappears(tm: Tm, tmp_path: Path):
    model = tm.deployed(body("gone"))
    resp = tm.call("member", "DELETE", f"/models/{model['modelId']}")
    assert resp.status_code == 200, resp.text
    assert resp.json() == {}  # google.protobuf.Empty, as Tensormesh answers (its SDK parses it)
    shown = tm.call("member", "GET", f"/models/{model['modelId']}").json()["model"]
    assert shown["status"] == "MODEL_STATUS_DELETING"
    assert native(tm, "gone")["desired_state"] == "deleted"
    again = tm.call("member", "DELETE", f"/models/{model['modelId']}")  # idempotent
    assert (again.status_code, again.json()) == (200, {})
    world = tm.world
    controller = Controller(
        world.store, FakeRuntime(), world.box, world.clock, Settings(home=tmp_path / "c"),
        holder_id="test",
    )  # fmt: skip
    asyncio.run(controller.tick())
    resp = tm.call("member", "GET", f"/models/{model['modelId']}")
    assert resp.status_code == 404 and resp.json()["code"] == 5
    assert tm.call("member", "GET", "/models").json() == {"models": []}
