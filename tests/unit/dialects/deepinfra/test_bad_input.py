"""Every invalid deploy request is a 422 `{detail: [{loc, msg, type}]}` naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.dialects.deepinfra.conftest import HF_TOKEN, DeepInfra, body, seed_example


def without(field: str) -> dict[str, Any]:
    request = seed_example()
    del request[field]
    return request


def assert_names(resp: httpx.Response, loc: list[str | int]) -> dict[str, Any]:
    assert resp.status_code == 422, resp.text
    detail = resp.json()["detail"]
    assert isinstance(detail, list) and detail, detail
    found = [d for d in detail if d["loc"] == loc]
    assert found, detail
    for d in detail:
        assert set(d) == {"loc", "msg", "type"}  # never the input: it may hold hf.token
    field = ".".join(str(p) for p in loc[1:]) or "body"
    assert found[0]["msg"].startswith(f"{field}:"), found[0]
    assert HF_TOKEN not in resp.text
    return dict(found[0])


@pytest.mark.parametrize(
    ("request_body", "loc", "type_"),
    [
        (without("model_name"), ["body", "model_name"], "missing"),
        (without("gpu"), ["body", "gpu"], "missing"),
        ({**seed_example(), "num_gpus": 0}, ["body", "num_gpus"], "greater_than_equal"),
        ({**seed_example(), "num_gpus": 9}, ["body", "num_gpus"], "less_than_equal"),
        ({**seed_example(), "max_batch_size": 0}, ["body", "max_batch_size"], "greater_than_equal"),
        ({**seed_example(), "max_batch_size": 257}, ["body", "max_batch_size"], "less_than_equal"),
        ({**seed_example(), "gpu": "T4-16GB"}, ["body", "gpu"], "enum"),
        ({**seed_example(), "gpu": "l4-24gb"}, ["body", "gpu"], "enum"),
        ({**seed_example(), "num_gpus": "two"}, ["body", "num_gpus"], "int_parsing"),
        ({**seed_example(), "num_gpus": 1.5}, ["body", "num_gpus"], "int_from_float"),
        ({**seed_example(), "max_batch_size": [96]}, ["body", "max_batch_size"], "int_type"),
        ({**seed_example(), "model_name": 42}, ["body", "model_name"], "string_type"),
        ({**seed_example(), "model_name": "no-slash"}, ["body", "model_name"], "value_error"),
        ({**seed_example(), "model_name": "a/b/c"}, ["body", "model_name"], "value_error"),
        ({**seed_example(), "model_name": "a/b:c"}, ["body", "model_name"], "value_error"),
        ({**seed_example(), "extra_args": "--x"}, ["body", "extra_args"], "list_type"),
        ({**seed_example(), "extra_args": [1]}, ["body", "extra_args", 0], "string_type"),
        ({**seed_example(), "hf": {"revision": "main"}}, ["body", "hf", "repo"], "missing"),
        ({**seed_example(), "hf": "owner/repo"}, ["body", "hf"], "model_attributes_type"),
        (
            {**seed_example(), "hf": {**seed_example()["hf"], "token": 7}},
            ["body", "hf", "token"],
            "string_type",
        ),
        (
            {**seed_example(), "settings": {"min_instances": 3, "max_instances": 2}},
            ["body", "settings", "max_instances"],
            "value_error",
        ),
        (
            {**seed_example(), "settings": {"min_instances": -1}},
            ["body", "settings", "min_instances"],
            "greater_than_equal",
        ),
        (
            {**seed_example(), "settings": {"max_instances": 0}},
            ["body", "settings", "max_instances"],
            "greater_than_equal",
        ),
        ({**seed_example(), "gpus": 2}, ["body", "gpus"], "extra_forbidden"),
    ],
)
def test_invalid_deploy_requests_name_their_field(
    di: DeepInfra, request_body: dict[str, Any], loc: list[str | int], type_: str
):
    found = assert_names(di.deploy(request_body), loc)
    assert found["type"] == type_
    assert di.native("GET", "/endpoints").json()["items"] == []  # nothing was created


def test_all_the_bad_fields_are_listed_at_once(di: DeepInfra):
    resp = di.deploy({"num_gpus": 0, "max_batch_size": 300})
    assert resp.status_code == 422
    locs = {tuple(d["loc"]) for d in resp.json()["detail"]}
    assert locs == {
        ("body", "model_name"),
        ("body", "gpu"),
        ("body", "num_gpus"),
        ("body", "max_batch_size"),
    }


def test_no_body_and_malformed_json_are_422(di: DeepInfra):
    assert_names(di.call("POST", "/deploy/llm"), ["body"])
    resp = di.call(
        "POST",
        "/deploy/llm",
        content=b'{"model_name": ',
        headers={"content-type": "application/json"},
    )
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["type"] == "json_invalid"


def test_a_local_path_must_be_an_existing_gguf_file(di: DeepInfra, tmp_path: Path):
    not_gguf = tmp_path / "weights.safetensors"
    not_gguf.write_bytes(b"x")
    found = assert_names(di.deploy(body(hf={"repo": str(not_gguf)})), ["body", "hf", "repo"])
    assert ".gguf" in found["msg"]
    missing = tmp_path / "missing.gguf"
    found = assert_names(di.deploy(body(hf={"repo": str(missing)})), ["body", "hf", "repo"])
    assert str(missing) in found["msg"]
    assert di.native("GET", "/endpoints").json()["items"] == []


def test_an_unknown_list_status_names_the_query_parameter(di: DeepInfra):
    resp = di.call("GET", "/deploy/list", params={"status": "running,bogus"})
    assert resp.status_code == 422
    [detail] = resp.json()["detail"]
    assert detail["loc"] == ["query", "status"]
    assert "bogus" in detail["msg"]
    assert "initializing,downloading,deploying,running,stopped,failed,deleted" in detail["msg"]
