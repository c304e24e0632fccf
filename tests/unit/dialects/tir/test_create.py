"""POST /tir/serving/inference/: TIR's create request becomes one Modelport endpoint."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from modelport.catalog import all_presets
from modelport.dialects.tir.frameworks import TERRAFORM_NAMES
from tests.unit.dialects.tir.conftest import (
    GATEWAY,
    SEED_PRIVATE_CLUSTER,
    SEED_TIR_CLUSTER,
    Tir,
    gguf_file,
    llamacpp_request,
    request,
    seed_fragment,
)


def test_seed_000_example_creates_an_endpoint_in_tir_envelope(tir: Tir) -> None:
    body = request()
    body.update(seed_fragment(SEED_TIR_CLUSTER))  # "cluster_type", "sku_id", "sku_item_price_id"
    resp = tir.create(body)
    assert resp.status_code == 201, resp.text
    answer = resp.json()
    assert set(answer) == {"code", "data", "errors", "message"}
    assert answer["code"] == 201
    assert answer["message"] == "Created Successfully"
    assert answer["errors"] == {}
    data = answer["data"]
    assert data["name"] == "vllm-chat"
    assert data["framework"] == "vllm"
    assert data["status"] == "Waiting"
    assert data["replica"] == 1
    assert data["sku_details"]["specs"]["sku_id"] == 162
    assert data["sku_details"]["plan"]["sku_item_price_id"] == 755
    assert data["location"] == "Delhi"
    assert data["api_key"].startswith("mp_")
    # The inference id is the endpoint's id; the URL is TIR's shape on the gateway.
    native = tir.native_endpoint(data["endpoint_name"])
    assert data["id"] == native["id"]
    pid = tir.project_id
    assert data["inference_url"] == f"{GATEWAY}/tir/project/p-{pid}/endpoint/is-{native['id']}/"
    # The plan's machine is what each replica gets: Delhi's A100-80GB plan.
    resources = native["spec"]["resources"]
    assert (resources["gpu_count"], resources["gpu_type"], resources["cpu"]) == (1, "A100-80GB", 16)
    assert native["spec"]["model"]["hf_id"] == "meta-llama/Llama-3.2-1B-Instruct"
    assert native["spec"]["framework"] == "vllm"


def test_seed_000_chennai_plan_resolves_in_chennai(tir: Tir) -> None:
    body = request(sku_id=40, sku_item_price_id=1628)
    data = tir.create(body, location="Chennai").json()["data"]
    assert data["location"] == "Chennai"
    assert data["sku_details"]["specs"]["sku_id"] == 40


def test_seed_000_private_cluster_example(tir: Tir) -> None:
    body = request(name="on-my-cluster")
    for key in ("sku_id", "sku_item_price_id"):
        body.pop(key)
    body.update(seed_fragment(SEED_PRIVATE_CLUSTER, **{"< Private Cluster Id>": "7"}))
    data = tir.created(body)
    assert data["cluster_type"] == "private-cluster"
    assert data["private_cloud_id"] == 7
    assert data["custom_sku"] == {"cpu": 1, "gpu": 0, "memory": 1}
    assert data["sku_details"] is None
    resources = tir.native_endpoint("on-my-cluster")["spec"]["resources"]
    assert (resources["cpu"], resources["memory_mb"], resources["gpu_count"]) == (1, 1024, 0)


def test_terraform_resource_example_as_the_provider_sends_it(tir: Tir) -> None:
    """Seed 001's example resource, in the JSON the Terraform provider builds from it."""
    body = request(
        name="name",
        sku_name="C3.2",
        sku_type="hourly",
        committed_instance_policy="",
        committed_days=0,
        path="",
        framework="pytorch",  # the provider maps PYTORCH to its value
        model_load_integration_id=12,
        cluster_type="tir-cluster",
        storage_type="disk",
        disk_path="/mnt/models",
        sfs_path="/shared/.cache",
        is_auto_scale_enabled=False,
        replica=1,
        committed_replicas=0,
        location="Delhi",
        currency="INR",
        category="inference_service",  # sent by the provider, not part of the API: ignored
    )
    for key in ("sku_id", "sku_item_price_id"):
        body.pop(key)
    body["auto_scale_policy"] = {
        "min_replica": 1, "max_replica": 1, "stability_period": 300, "rules": []
    }  # fmt: skip
    info = body["detailed_info"]
    info.update(
        commands=base64.b64encode(b"").decode(),
        args=base64.b64encode(b"").decode(),
        hugging_face_id="",
        server_version="v0.9.0",
        engine_args={},
    )
    body["custom_endpoint_details"]["container"]["container_name"] = "pytorch/torchserve:0.9.0"
    body["custom_endpoint_details"]["resource_details"]["env_variables"] = [
        {"key": "HF_HdfsfOME", "value": "ENV_VALUE", "required": True,
         "disabled": {"key": True, "value": False}},
        {"key": "HF_HOMsE", "value": "ENV_VALsUE", "required": True,
         "disabled": {"key": True, "value": False}},
    ]  # fmt: skip
    resp = tir.create(body, location=None)  # Terraform puts location in the body
    assert resp.status_code == 201, resp.text
    data = resp.json()["data"]
    assert data["sku_details"]["specs"]["name"] == "C3.2"
    assert data["sku_details"]["plan"] == {
        "sku_item_price_id": 1001,
        "sku_type": "hourly",
        "committed_days": 0,
        "currency": "INR",
        "unit_price": 3.1,
    }
    assert data["detailed_info"]["server_version"] == "v0.9.0"
    spec = tir.native_endpoint("name")["spec"]
    assert spec["framework"] == "torchserve"
    assert spec["server_version"] == "v0.9.0"
    assert spec["model"]["path"] == "/mnt/models"  # TIR downloads model files to the disk
    assert [(e["name"], e["value"], e["required"]) for e in spec["env"]] == [
        ("HF_HdfsfOME", "ENV_VALUE", True),
        ("HF_HOMsE", "ENV_VALsUE", True),
    ]
    assert spec["resources"]["cpu"] == 2
    assert spec["resources"]["disk_gb"] == 100
    assert spec["mounts"] == [
        {"path": "/mnt/models", "source": None, "size_gb": 100, "read_only": False}
    ]


def _framework_request(value: str, name: str) -> dict[str, object]:
    body = request(name=name, framework=value)
    info = body["detailed_info"]
    assert isinstance(info, dict)
    info["hugging_face_id"] = ""
    if value.lower() in ("custom",):
        info["commands"] = '["python", "-m", "http.server", "{port}"]'
    return body


@pytest.mark.parametrize("value", [p.value for p in all_presets()])
def test_every_seed_framework_value_is_accepted(tir: Tir, value: str) -> None:
    data = tir.created(_framework_request(value, "ep"))
    assert data["framework"] == value


@pytest.mark.parametrize("name", sorted(TERRAFORM_NAMES))
def test_terraform_framework_names_are_accepted(tir: Tir, name: str) -> None:
    data = tir.created(_framework_request(name, "ep"))
    assert data["framework"] == TERRAFORM_NAMES[name]


def test_model_presets_serve_their_pinned_model(tir: Tir) -> None:
    tir.created(_framework_request("llama-3-8b-instruct", "llama3"))
    spec = tir.native_endpoint("llama3")["spec"]
    assert spec["framework"] == "vllm"
    assert spec["model"]["hf_id"] == "meta-llama/Meta-Llama-3-8B-Instruct"


def test_llamacpp_serves_the_gguf_file_named_by_path(tir: Tir, tmp_path: Path) -> None:
    gguf = gguf_file(tmp_path)
    body = llamacpp_request(gguf)
    body["detailed_info"]["engine_args"] = {"n_ctx": 1024}
    tir.created(body)
    spec = tir.native_endpoint("smol-chat")["spec"]
    assert spec["framework"] == "llamacpp"
    assert spec["model"]["path"] == str(gguf)
    assert spec["engine_args"] == {"n_ctx": 1024}
    assert spec["resources"]["gpu_count"] == 0


def test_custom_container_runs_its_commands_and_args(tir: Tir) -> None:
    body = request(name="my-server", framework="custom")
    body["custom_endpoint_details"]["container"]["container_name"] = "acme/server:1"
    # Terraform base64-encodes both; a JSON list and a plain command line work as well.
    body["detailed_info"]["commands"] = base64.b64encode(
        b'["python", "-m", "http.server"]'
    ).decode()
    body["detailed_info"]["args"] = "{port} --bind {host}"
    tir.created(body)
    spec = tir.native_endpoint("my-server")["spec"]
    assert spec["command"] == ["python", "-m", "http.server", "{port}", "--bind", "{host}"]
    assert spec["model"]["image"] == "acme/server:1"


def test_probes_autoscaling_logging_and_engine_args_are_mapped(tir: Tir) -> None:
    body = request(name="tuned", is_auto_scale_enabled=True)
    advance = body["custom_endpoint_details"]["container"]["advance_config"]
    advance["is_readiness_probe_enabled"] = True
    advance["readiness_probe"].update(path="/ready", initial_delay_seconds=5, period_seconds=3)
    advance["is_liveness_probe_enabled"] = True
    advance["liveness_probe"].update(protocol="tcp", port=9000, failure_threshold=5)
    advance["image_pull_policy"] = "IfNotPresent"
    body["auto_scale_policy"] = {
        "min_replicas": 1,
        "max_replicas": 4,
        "stability_period": 120,
        "rules": [
            {"metric": "requestRate", "condition_type": "limit", "value": 20,
             "watch_period": 30, "granularity": 2, "window": 10},
            {"metric": "custom", "custom_metric_name": "vllm:num_requests_waiting", "value": 5},
        ],
    }  # fmt: skip
    body["detailed_info"].update(
        world_size=2,
        info_log=False,
        log_verbose_level=3,
        tokenizer="meta-llama/Llama-3.2-1B-Instruct",
        model_serve_type="full-model",
        engine_args={"data_type": "float16", "max_model_length": 4096, "enforce_eager": True,
                     "quantization_param_path": "", "seed": None},
    )  # fmt: skip
    data = tir.created(body)
    spec = tir.native_endpoint("tuned")["spec"]
    readiness, liveness = spec["readiness"], spec["liveness"]
    assert (readiness["protocol"], readiness["path"], readiness["port"]) == ("http", "/ready", None)
    assert (readiness["initial_delay_seconds"], readiness["period_seconds"]) == (5, 3)
    assert (liveness["protocol"], liveness["port"], liveness["failure_threshold"]) == (
        "tcp",
        9000,
        5,
    )
    assert spec["image_pull_policy"] == "IfNotPresent"
    policy = spec["autoscale"]
    assert (policy["enabled"], policy["min_replicas"], policy["max_replicas"]) == (True, 1, 4)
    assert policy["stability_period_seconds"] == 120
    assert [r["metric"] for r in policy["rules"]] == ["request_rate", "custom"]
    assert policy["rules"][0]["window_seconds"] == 10
    assert policy["rules"][1]["custom_metric_name"] == "vllm:num_requests_waiting"
    assert spec["world_size"] == 2
    assert spec["logging"] == {"error": True, "info": False, "warning": True, "verbose_level": 3}
    assert spec["model"]["serve_type"] == "full-model"
    # TIR's vLLM option names become vLLM's; unset (null or empty) values are left out.
    assert spec["engine_args"] == {"dtype": "float16", "max_model_len": 4096, "enforce_eager": True}
    # The answer echoes what was sent, in TIR's names and shapes.
    assert data["detailed_info"]["engine_args"]["data_type"] == "float16"
    assert data["auto_scale_policy"]["rules"][0]["metric"] == "requestRate"
    assert data["auto_scale_policy"]["stability_period"] == "120"
    probe = data["custom_endpoint_details"]["container"]["advance_config"]["liveness_probe"]
    assert probe["port"] == "9000"


def test_a_tir_name_becomes_a_dns_label_and_is_echoed(tir: Tir) -> None:
    data = tir.created(request(name="My_Chat Model.v2"))
    assert data["name"] == "My_Chat Model.v2"
    assert data["endpoint_name"] == "my-chat-model-v2"
    assert tir.native_endpoint("my-chat-model-v2")["id"] == data["id"]


def test_the_same_request_twice_is_one_endpoint(tir: Tir) -> None:
    first = tir.created(request())
    again = tir.create(request())
    assert again.status_code == 200, again.text
    assert again.json()["data"]["id"] == first["id"]
    assert "api_key" not in again.json()["data"]
    other = request()
    other["replica"] = 3
    clash = tir.create(other)
    assert clash.status_code == 409
    assert "name" in clash.json()["errors"]


def test_endpoints_are_listed_and_read_by_id(tir: Tir) -> None:
    one = tir.created(request(name="one"))
    two = tir.created(request(name="two", replica=2))
    resp = tir.call("GET", "/serving/inference/")
    assert resp.status_code == 200
    listed = {e["id"]: e for e in resp.json()["data"]}
    assert set(listed) == {one["id"], two["id"]}
    assert listed[two["id"]]["replica"] == 2
    got = tir.get(one["id"])
    assert got["name"] == "one"
    assert got["status"] == "Waiting"
    assert "api_key" not in got


def test_endpoints_made_natively_are_shown_in_tir_shape(tir: Tir, tmp_path: Path) -> None:
    gguf = gguf_file(tmp_path)
    spec = {"framework": "llamacpp", "model": {"path": str(gguf)}, "replicas": 2}
    made = tir.native("POST", "/endpoints", json={"name": "native-one", "spec": spec})
    assert made.status_code == 201, made.text
    data = tir.get(made.json()["id"])
    assert (data["name"], data["framework"], data["replica"]) == ("native-one", "llamacpp", 2)
    assert data["path"] == str(gguf)
    assert data["sku_details"] is None
