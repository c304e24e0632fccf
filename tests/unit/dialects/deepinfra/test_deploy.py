"""POST /deepinfra/deploy/llm: DeepInfra's response shape, the spec it becomes, idempotency."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from pathlib import Path

from modelport.dialects.deepinfra.translate import endpoint_name
from modelport.security.secrets import REDACTED
from modelport.services.spec_secrets import engine_environment
from tests.unit.dialects.deepinfra.conftest import (
    HF_TOKEN,
    DeepInfra,
    body,
    gguf_file,
    seed_example,
)

# Seed 002's response object, key for key.
RESPONSE_KEYS = {
    "deploy_id", "model_name", "version", "task", "status", "fail_reason", "created_at",
    "updated_at", "type", "instances", "config", "settings",
}  # fmt: skip


def test_the_seed_example_deploys_and_answers_in_deepinfra_shape(di: DeepInfra):
    resp = di.deploy(seed_example())
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert set(out) == RESPONSE_KEYS
    assert re.fullmatch(r"[a-z0-9]{10}", out["deploy_id"])
    assert out["model_name"] == "acme/smollm2-chat"
    assert out["type"] == "llm"
    assert out["task"] == "text-generation"
    assert out["version"] == "12fd25f77366fa6b3b4b768ec3050bf629380bac"
    assert out["status"] == "initializing"  # accepted; no controller has launched anything
    assert out["fail_reason"] == ""
    assert out["instances"] == {"running": 0, "pending": 1}  # wanted, not created yet
    assert out["config"] == {
        "gpu": "L4-24GB",
        "num_gpus": 1,
        "max_batch_size": 96,
        "weights": {
            "repo": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "revision": "12fd25f77366fa6b3b4b768ec3050bf629380bac",
            "token": None,
        },
    }
    assert out["settings"] == {"min_instances": 1, "max_instances": 1}
    for stamp in (out["created_at"], out["updated_at"]):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", stamp), stamp
        assert datetime.fromisoformat(stamp).tzinfo is not None


def test_the_deployment_is_a_vllm_endpoint_with_the_mapped_spec(di: DeepInfra):
    out = di.deployed(seed_example())
    endpoint = di.native_endpoint("acme/smollm2-chat")
    spec = endpoint["spec"]
    assert endpoint["name"] == "acme--smollm2-chat"
    assert spec["framework"] == "vllm"
    assert spec["model"]["hf_id"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert spec["model"]["revision"] == "12fd25f77366fa6b3b4b768ec3050bf629380bac"
    assert spec["resources"]["gpu_count"] == 1
    assert spec["resources"]["gpu_type"] == "L4-24GB"
    assert spec["max_concurrency"] == 96
    assert spec["extra_args"] == ["--max-model-len", "2048"]
    assert spec["replicas"] == 1
    assert spec["autoscale"]["enabled"] is False
    assert spec["env"] == [
        {
            "name": "HF_TOKEN",
            "value": REDACTED,
            "secret": True,
            "required": False,
            "disabled": False,
        }
    ]
    # The contract the gateway reads to route /deepinfra/v1/openai requests.
    ext = spec["extensions"]["deepinfra"]
    assert ext["model_name"] == "acme/smollm2-chat"
    assert ext["deploy_id"] == out["deploy_id"]


def test_hf_token_is_never_returned_and_encrypted_at_rest(di: DeepInfra):
    out = di.deployed(seed_example())
    deploy_id = out["deploy_id"]
    responses = [
        di.deploy(seed_example()),
        di.call("GET", f"/deploy/{deploy_id}"),
        di.call("GET", "/deploy/list"),
        di.call("PUT", f"/deploy/{deploy_id}", json={"settings": {"max_instances": 2}}),
        di.call("POST", f"/deploy/{deploy_id}/stop"),
        di.call("POST", f"/deploy/{deploy_id}/start"),
        di.native("GET", "/endpoints"),
        di.native("GET", f"/endpoints/{endpoint_name('acme/smollm2-chat')}/events"),
        di.call("DELETE", f"/deploy/{deploy_id}"),
    ]
    for resp in responses:
        assert resp.status_code == 200, resp.text
        assert HF_TOKEN not in resp.text
    raw = sqlite3.connect(di.world.db_path).execute("SELECT spec FROM endpoints").fetchall()
    assert raw and all(HF_TOKEN not in row[0] for row in raw)
    stored = di.world.store.get_endpoint_by_name(di.world.project.id, "acme--smollm2-chat")
    assert engine_environment(stored.spec, di.world.box) == {"HF_TOKEN": HF_TOKEN}


def test_defaults_follow_the_seed(di: DeepInfra):
    out = di.deployed({"model_name": "acme/tiny", "gpu": "A100-80GB"})
    assert out["config"] == {
        "gpu": "A100-80GB",
        "num_gpus": 1,
        "max_batch_size": 96,
        "weights": None,
    }
    assert out["settings"] == {"min_instances": 1, "max_instances": 1}
    assert out["version"] == ""
    spec = di.native_endpoint("acme/tiny")["spec"]
    assert spec["model"]["hf_id"] == "acme/tiny"  # no hf.repo, no base_model: the model_name
    assert spec["env"] == []
    assert spec["max_concurrency"] == 96


def test_base_model_is_the_weights_without_hf(di: DeepInfra):
    di.deployed(body(base_model="meta-llama/Llama-3.1-8B-Instruct", num_gpus=4, gpu="other"))
    spec = di.native_endpoint("acme/chat-model")["spec"]
    assert spec["model"]["hf_id"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert spec["resources"]["gpu_count"] == 4
    assert spec["resources"]["gpu_type"] is None  # "other": any GPU type


def test_a_local_gguf_is_served_by_llamacpp_on_cpu_with_gpu_other(di: DeepInfra, tmp_path: Path):
    model = gguf_file(tmp_path)
    out = di.deployed(body(gpu="other", hf={"repo": str(model)}))
    assert out["config"]["weights"] == {"repo": str(model), "revision": None, "token": None}
    spec = di.native_endpoint("acme/chat-model")["spec"]
    assert spec["framework"] == "llamacpp"
    assert spec["model"]["path"] == str(model)
    assert spec["resources"]["gpu_count"] == 0
    assert "n_gpu_layers" not in spec["engine_args"]


def test_a_local_gguf_with_a_named_gpu_reserves_and_offloads(di: DeepInfra, tmp_path: Path):
    di.deployed(body(gpu="L4-24GB", num_gpus=2, hf={"repo": str(gguf_file(tmp_path))}))
    spec = di.native_endpoint("acme/chat-model")["spec"]
    assert spec["framework"] == "llamacpp"
    assert spec["resources"]["gpu_count"] == 2
    assert spec["resources"]["gpu_type"] == "L4-24GB"
    assert spec["engine_args"]["n_gpu_layers"] == -1


def test_settings_map_to_replicas_and_autoscale_bounds(di: DeepInfra):
    out = di.deployed(body(settings={"min_instances": 2, "max_instances": 5}))
    assert out["settings"] == {"min_instances": 2, "max_instances": 5}
    spec = di.native_endpoint("acme/chat-model")["spec"]
    assert spec["replicas"] == 2
    assert spec["autoscale"]["enabled"] is True
    assert (spec["autoscale"]["min_replicas"], spec["autoscale"]["max_replicas"]) == (2, 5)


def test_scale_to_zero_keeps_one_instance_until_an_autoscaler_acts(di: DeepInfra):
    out = di.deployed(body(settings={"min_instances": 0, "max_instances": 2}))
    assert out["settings"] == {"min_instances": 0, "max_instances": 2}
    spec = di.native_endpoint("acme/chat-model")["spec"]
    assert spec["replicas"] == 1
    assert spec["autoscale"]["min_replicas"] == 0


def test_the_same_deploy_again_returns_the_same_deployment(di: DeepInfra):
    first = di.deployed(seed_example())
    again = di.deployed(seed_example())
    assert again["deploy_id"] == first["deploy_id"]
    assert again["created_at"] == first["created_at"]
    assert len(di.native("GET", "/endpoints").json()["items"]) == 1


def test_settings_in_a_repeated_deploy_leave_the_deployment_as_it_is(di: DeepInfra):
    first = di.deployed(seed_example())
    changed = {**seed_example(), "settings": {"min_instances": 1, "max_instances": 4}}
    again = di.deployed(changed)
    assert again["deploy_id"] == first["deploy_id"]
    assert again["settings"] == {"min_instances": 1, "max_instances": 1}  # PUT changes settings


def test_another_config_under_the_same_model_name_is_a_conflict(di: DeepInfra):
    first = di.deployed(seed_example())
    for field, value, named in [
        ("num_gpus", 2, "num_gpus"),
        ("gpu", "H100-80GB", "gpu"),
        ("max_batch_size", 32, "max_batch_size"),
        ("extra_args", ["--enforce-eager"], "extra_args"),
        ("hf", {**seed_example()["hf"], "revision": "main"}, "hf.revision"),
    ]:
        resp = di.deploy({**seed_example(), field: value})
        assert resp.status_code == 409, (field, resp.text)
        detail = resp.json()["detail"]
        assert isinstance(detail, str)
        assert detail.startswith(f"{named}:"), detail
        assert first["deploy_id"] in detail
    assert len(di.native("GET", "/endpoints").json()["items"]) == 1


def test_another_hf_token_answers_as_the_same_token_would_and_changes_nothing(di: DeepInfra):
    """No equality oracle on the stored token: the answer does not depend on its value."""
    first = di.deployed(seed_example())
    other = di.deploy({**seed_example(), "hf": {**seed_example()["hf"], "token": "hf_guess-1"}})
    assert other.status_code == 200, other.text
    assert other.json()["deploy_id"] == first["deploy_id"]
    stored = di.world.store.get_endpoint_by_name(di.world.project.id, "acme--smollm2-chat")
    assert engine_environment(stored.spec, di.world.box) == {"HF_TOKEN": HF_TOKEN}


def test_a_model_name_whose_endpoint_name_is_taken_natively_is_a_conflict(di: DeepInfra):
    native = {"name": "acme--chat-model", "spec": {"framework": "custom", "command": ["x"]}}
    assert di.native("POST", "/endpoints", json=native).status_code == 201
    resp = di.deploy(body())
    assert resp.status_code == 409
    assert resp.json()["detail"].startswith("model_name:")
    assert "acme--chat-model" in resp.json()["detail"]


def test_endpoint_names_are_dns_labels_unique_per_model_name():
    assert endpoint_name("acme/chat-model") == "acme--chat-model"
    names = {
        endpoint_name(m)
        for m in ("Acme/Chat", "acme/chat", "acme/Chat", "acme/chat_v1.5", "acme/chat-v1-5")
    }
    assert len(names) == 5
    long_name = endpoint_name("o" * 96 + "/" + "m" * 96)
    for name in [*names, long_name]:
        assert re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", name), name
    assert endpoint_name("Acme/Chat") == endpoint_name("Acme/Chat")  # deterministic


def test_two_deployments_get_distinct_ids(di: DeepInfra):
    a = di.deployed(body("acme/one"))
    b = di.deployed(body("acme/two"))
    assert a["deploy_id"] != b["deploy_id"]
    names = {e["name"] for e in di.native("GET", "/endpoints").json()["items"]}
    assert names == {"acme--one", "acme--two"}
