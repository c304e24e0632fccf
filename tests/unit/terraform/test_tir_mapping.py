"""tir_model_endpoint's pure mapping: the REST body built from a state as TIR's Go provider
builds it, the state read back from a recorded GET answer (keeping the user's spelling where
the server means the same, drift where it does not), planned defaults, refused fields named."""

from __future__ import annotations

import base64
import copy
from typing import Any

from modelport.terraform.tir_fields import attribute_path
from modelport.terraform.tir_payload import payload
from modelport.terraform.tir_schema import with_defaults
from modelport.terraform.tir_state import read_state

STATE: dict[str, Any] = {
    "id": "1",
    "name": "tf-smol",
    "framework": "PYTORCH",
    "model_path": "/models/m.gguf",
    "model_id": "12",
    "model_load_integration_id": "",
    "dataset_id": "",
    "sku_name": "C3.2",
    "sku_type": "hourly",
    "currency": "INR",
    "location": "Delhi",
    "cluster_type": "tir-cluster",
    "storage_type": "disk",
    "container_type": "public",
    "replica": 2,
    "stop_inference": "start",
    "status": "Running",
    "image_pull_policy": "IfNotPresent",
    "detailed_info": [
        {
            "commands": "python app.py",
            "args": "",
            "engine_args": {"n_ctx": "4", "ratio": "0.5", "flash": "true", "mode": "fast"},
            "hugging_face_id": "",
        }
    ],
    "auto_scale_policy": [{"min_replicas": 1, "max_replicas": 3, "rules": [{"metric": "cpu"}]}],
    "resource_details": [
        {"disk_size": 10, "env_variables": [{"key": "HF_TOKEN", "value": "hf_s", "required": True}]}
    ],
}
# A GET answer of /tir/terraform (recorded from a real server, trimmed to what is read).
ANSWER: dict[str, Any] = {
    "id": 1,
    "name": "tf-smol",
    "status": "Running",
    "created_at": "2026-11-28T21:18:58+00:00",
    "location": "Delhi",
    "path": "/models/m.gguf",
    "framework": "pytorch",
    "model_id": 12,
    "model_load_integration_id": None,
    "replica": 2,
    "detailed_info": {
        "commands": base64.b64encode(b"python app.py").decode(),
        "args": "",
        "engine_args": {"n_ctx": 4, "ratio": 0.5, "flash": True, "mode": "fast"},
        "hugging_face_id": "",
    },
    "auto_scale_policy": {
        "min_replicas": 1,
        "max_replicas": 3,
        "stability_period": "300",
        "rules": [{"metric": "cpu", "value": 10, "condition_type": "limit"}],
    },
    "custom_endpoint_details": {
        "container": {
            "container_name": "",
            "container_type": "public",
            "advance_config": {"image_pull_policy": "IfNotPresent"},
        },
        "resource_details": {
            "disk_size": 10,
            "env_variables": [
                {"key": "HF_TOKEN", "value": "********", "required": True, "disabled": {}}
            ],
        },
        "public_ip": "no",
    },
    "sku_details": {
        "specs": {"name": "C3.2"},
        "plan": {"sku_type": "hourly", "committed_days": 0, "currency": "INR"},
    },
}


def planned() -> dict[str, Any]:
    return with_defaults(copy.deepcopy(STATE), copy.deepcopy(STATE))


def test_payload_is_built_as_tir_go_provider_builds_it() -> None:
    body = payload(planned())
    info = body["detailed_info"]
    assert base64.b64decode(info["commands"]) == b"python app.py" and info["args"] == ""
    assert info["engine_args"] == {"n_ctx": 4, "ratio": 0.5, "flash": True, "mode": "fast"}
    assert body["framework"] == "pytorch" and body["category"] == "inference_service"
    assert body["model_id"] == 12 and body["model_load_integration_id"] is None
    assert body["auto_scale_policy"]["min_replica"] == 1
    assert body["auto_scale_policy"]["max_replica"] == 3
    assert body["auto_scale_policy"]["stability_period"] == 300
    advance = body["custom_endpoint_details"]["container"]["advance_config"]
    assert advance["image_pull_policy"] == "IfNotPresent"
    assert advance["readiness_probe"]["path"] == "/health"  # an absent block: the defaults
    assert body["custom_endpoint_details"]["resource_details"]["env_variables"][0]["key"] == (
        "HF_TOKEN"
    )
    assert body["sku_name"] == "C3.2" and "private_cloud_id" not in body


def test_read_keeps_the_users_spelling_where_the_server_means_the_same() -> None:
    prior = planned()
    state = read_state(prior, ANSWER)
    assert state["framework"] == "PYTORCH"
    assert state["detailed_info"][0]["engine_args"] == STATE["detailed_info"][0]["engine_args"]
    assert state["detailed_info"][0]["commands"] == "python app.py"
    assert state["resource_details"][0]["env_variables"][0]["value"] == "hf_s"  # masked
    assert state["auto_scale_policy"][0]["stability_period"] == 300
    assert state["model_id"] == "12" and state["stop_inference"] == "start"
    assert state["readiness_probe"] is None  # absent stays absent


def test_read_shows_what_changed_on_the_server() -> None:
    answer = copy.deepcopy(ANSWER)
    answer["replica"] = 5
    answer["status"] = "Stopped"
    answer["detailed_info"]["engine_args"]["n_ctx"] = 8
    answer["auto_scale_policy"]["rules"].append({"metric": "concurrency", "value": 4})
    state = read_state(planned(), answer)
    assert state["replica"] == 5 and state["stop_inference"] == "stop"
    assert state["detailed_info"][0]["engine_args"]["n_ctx"] == "8"
    assert [r["metric"] for r in state["auto_scale_policy"][0]["rules"]] == ["cpu", "concurrency"]


def test_import_reads_top_level_attributes_and_no_blocks() -> None:
    state = read_state({"id": "1", "team_id": "1", "project_id": "3"}, ANSWER)
    assert state["framework"] == "pytorch" and state["replica"] == 2
    assert state["sku_name"] == "C3.2" and state["server_options"] == ""
    assert state["detailed_info"] is None and state["resource_details"] is None


def test_defaults_are_planned_where_the_config_leaves_them_unset() -> None:
    config: dict[str, Any] = {
        "replica": None,
        "auto_scale_policy": [{"max_replicas": 4, "rules": [{"metric": "cpu"}]}],
    }
    proposed: dict[str, Any] = {
        "replica": 3,  # the prior's value: removed from the config, it goes back to 1
        "auto_scale_policy": [
            {"max_replicas": 4, "min_replicas": None, "rules": [{"metric": "cpu", "value": None}]}
        ],
    }
    out = with_defaults(proposed, config)
    assert out["replica"] == 1
    policy = out["auto_scale_policy"][0]
    assert policy["min_replicas"] == 1 and policy["stability_period"] == 300
    assert policy["rules"][0]["value"] == 10 and policy["rules"][0]["watch_period"] == 60


def test_refused_fields_name_the_attribute() -> None:
    assert attribute_path("path") == ["model_path"]
    assert attribute_path("sku_id") == ["sku_name"]
    assert attribute_path("custom_endpoint_details.resource_details.disk_size") == [
        "resource_details",
        (0,),
        "disk_size",
    ]
    assert attribute_path("custom_endpoint_details.resource_details.env_variables.1.key") == [
        "resource_details",
        (0,),
        "env_variables",
        (1,),
        "key",
    ]
    assert attribute_path("auto_scale_policy.min_replica") == [
        "auto_scale_policy",
        (0,),
        "min_replicas",
    ]
    assert attribute_path("spec.labels") is None
