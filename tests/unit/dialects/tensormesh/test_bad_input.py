"""Every invalid input is a google.rpc.Status naming its field (never a 500), and leaves nothing
behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.dialects.tensormesh.conftest import Tm, assert_rpc_error, body

INVALID_ARGUMENT = 3

BAD_FIELDS: list[tuple[dict[str, Any], str]] = [
    ({"modelName": ""}, "modelName"),
    ({"modelName": None}, "modelName"),
    ({"modelName": "   "}, "modelName"),
    ({"modelName": "x" * 201}, "modelName"),
    ({"modelName": "bad\nname"}, "modelName"),
    ({"modelPath": ""}, "modelPath"),
    ({"modelPath": "not a model id"}, "modelPath"),
    ({"userId": ""}, "userId"),
    ({"userId": "alice"}, "userId"),
    ({"userId": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4"}, "userId"),  # one digit short
    ({"gpuCount": -1}, "gpuCount"),
    ({"gpuCount": "two"}, "gpuCount"),
    ({"gpuCount": True}, "gpuCount"),
    ({"gpuCount": 123}, "gpuCount"),  # more than a replica can hold (64)
    ({"gpuCount": 0, "gpuType": "GPU_TYPE_A100"}, "gpuCount"),
    ({"gpuType": "GPU_TYPE_T4"}, "gpuType"),
    ({"gpuType": "H100"}, "gpuType"),
    ({"infra": {"cloudProvider": "CLOUD_PROVIDER_AWS"}}, "infra.cloudProvider"),
    ({"infra": {"nebiusRegion": "us-east-1"}}, "infra.nebiusRegion"),
    (
        {"infra": {"cloudProvider": "CLOUD_PROVIDER_LAMBDA", "nebiusRegion": "NEBIUS_REGION_X"}},
        "infra.nebiusRegion",
    ),
    ({"infra": "nebius"}, "infra"),
    ({"modelSpec": []}, "modelSpec"),
    ({"modelSpec": {"engine": "tgi"}}, "modelSpec.engine"),
    ({"modelSpec": {"engineArgs": ["--x"]}}, "modelSpec.engineArgs"),
    ({"modelSpec": {"engineArgs": {"max-model-len": [1]}}}, "modelSpec.engineArgs.max-model-len"),
    ({"modelSpec": {"engineArgs": {"--port": 1}}}, "modelSpec.engineArgs.--port"),
    ({"modelSpec": {"engineArgs": {"port": 9000}}}, "modelSpec.engineArgs.port"),
    ({"apiKey": "short"}, "apiKey"),
    ({"apiKey": "has spaces in the key!"}, "apiKey"),
    ({"hfToken": "hf token"}, "hfToken"),
    ({"description": "d" * 2001}, "description"),
    ({"kvCacheEnabled": "maybe"}, "kvCacheEnabled"),
    ({"cpuOffloadingEnabled": [True]}, "cpuOffloadingEnabled"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_FIELDS, ids=[f for _, f in BAD_FIELDS])
def test_a_bad_field_is_invalid_argument_naming_it(tm: Tm, fields: dict[str, Any], field: str):
    resp = tm.deploy(body("bad", **fields))
    assert_rpc_error(resp, 400, INVALID_ARGUMENT, field)
    assert tm.call("admin", "GET", "/models").json() == {"models": []}


def test_a_missing_gguf_file_names_model_path(tm: Tm, tmp_path: Path):
    resp = tm.deploy(
        body("tiny", modelPath=str(tmp_path / "absent.gguf"), gpuCount=0, gpuType=None)
    )
    assert_rpc_error(resp, 400, INVALID_ARGUMENT, "modelPath")


def test_llama_cpp_with_a_flag_it_lacks_names_the_flag(tm: Tm, tmp_path: Path):
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    resp = tm.deploy(
        body(
            "tiny",
            modelPath=str(gguf),
            gpuCount=0,
            gpuType=None,
            modelSpec={"engineArgs": {"nope": 1}},
        )
    )
    assert_rpc_error(resp, 400, INVALID_ARGUMENT, "modelSpec.engineArgs.nope")


@pytest.mark.parametrize(
    ("content", "field"),
    [('{"modelName": ', "body"), ("[1, 2]", "body"), ("", "body")],
    ids=["malformed", "not-an-object", "empty"],
)
def test_a_body_that_is_no_json_object_is_invalid_argument(tm: Tm, content: str, field: str):
    resp = tm.call(
        "member", "POST", "/models", content=content, headers={"Content-Type": "application/json"}
    )
    assert_rpc_error(resp, 400, INVALID_ARGUMENT, field)


def test_a_bad_model_id_or_user_filter_is_invalid_argument(tm: Tm):
    assert_rpc_error(tm.call("member", "GET", "/models/42"), 400, INVALID_ARGUMENT, "modelId")
    assert_rpc_error(tm.call("member", "DELETE", "/models/x"), 400, INVALID_ARGUMENT, "modelId")
    resp = tm.call("member", "GET", "/models", params={"userId": "bob"})
    assert_rpc_error(resp, 400, INVALID_ARGUMENT, "userId")


def test_an_unknown_model_is_not_found(tm: Tm):
    resp = tm.call("member", "GET", "/models/6f1c2a9e-0000-4e5f-8a7b-9c0d1e2f3a4b")
    assert_rpc_error(resp, 404, 5, "modelId")


def test_a_taken_model_name_with_another_spec_already_exists(tm: Tm):
    tm.deployed(body("taken"))
    resp = tm.deploy(body("taken", gpuCount=2))
    message = assert_rpc_error(resp, 409, 6, "modelName")
    assert "'taken'" in message
    resp = tm.deploy(body("taken", hfToken="hf_differentSecret000"))
    assert_rpc_error(resp, 409, 6, "modelName")


def test_a_native_endpoint_of_that_name_is_taken_too(tm: Tm):
    resp = tm.client.post(
        "/api/v1/endpoints",
        headers={"Authorization": f"Bearer {tm.world.keys['admin']}"},
        json={"name": "web", "spec": {"framework": "custom", "command": ["serve", "{port}"]}},
    )
    assert resp.status_code == 201
    assert_rpc_error(tm.deploy(body("web")), 409, 6, "modelName")


def test_a_model_being_deleted_cannot_be_deployed_again_yet(tm: Tm):
    model = tm.deployed(body("churn"))
    tm.call("member", "DELETE", f"/models/{model['modelId']}")
    assert_rpc_error(tm.deploy(body("churn")), 400, 9, "modelName")


def test_unknown_paths_and_methods_answer_in_the_envelope(tm: Tm):
    assert_rpc_error(tm.call("member", "GET", "/nothing"), 404, 5, None)
    assert_rpc_error(tm.call("member", "PUT", "/models"), 405, 12, None)


def test_unknown_fields_are_ignored_and_proto_names_accepted(tm: Tm):
    model = tm.deployed(
        {
            "model_name": "snake",
            "user_id": "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b",
            "model_path": "org/model",
            "gpu_count": "1",  # int64 as a string, as proto3 JSON allows
            "someFutureField": {"x": 1},
        }
    )
    assert (model["modelName"], model["gpuCount"]) == ("snake", 1)
