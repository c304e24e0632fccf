"""A `tir_model_endpoint` state as the TIR REST body, built as TIR's Go provider builds it
(createPayloadForInference in resource_modelEndpoint.go): container fields under
`custom_endpoint_details`, `commands`/`args` base64, `engine_args` values as numbers / booleans
where they parse, `min_replica`/`max_replica` (singular) in `auto_scale_policy`, ids as integers
or null, `category`, `location`, `currency`.

Where this differs from the Go provider, on purpose: `container_name` is sent empty (the Go
provider fills in TIR's own image for the framework; Modelport picks its engine's image), env
variables are `[]` rather than null when there are none, `public_ip` is the attribute (Go: always
"no"), and `model_id` and `model_load_integration_id` are both sent when both are set."""

from __future__ import annotations

import base64
from typing import Any

from modelport.terraform import tir_frameworks
from modelport.terraform.tir_schema import (
    ASYNC_CONFIGURATION,
    ASYNC_ROUTES,
    AUTO_SCALE_POLICY,
    DETAILED_INFO,
    ENV_VARIABLES,
    PROBES,
    RESOURCE_DETAILS,
    RULES,
    BlockSpec,
)

CATEGORY = "inference_service"
CONTAINER = ("custom_endpoint_details", "container")
ADVANCE = (*CONTAINER, "advance_config")
# Where each block lives in the REST body (and in GET's answer).
BLOCK_PLACES: dict[str, tuple[str, ...]] = {
    "auto_scale_policy": ("auto_scale_policy",),
    "detailed_info": ("detailed_info",),
    "readiness_probe": (*ADVANCE, "readiness_probe"),
    "liveness_probe": (*ADVANCE, "liveness_probe"),
    "resource_details": ("custom_endpoint_details", "resource_details"),
}
# Block attribute -> its REST key where the names differ (TIR's provider sends these singular).
WIRE_NAMES = {"min_replicas": "min_replica", "max_replicas": "max_replica"}
_PROBE_OMIT_EMPTY = ("path", "grpc_service", "commands")  # `omitempty` in the Go struct


def element(state: dict[str, Any], spec: BlockSpec) -> dict[str, Any]:
    """The block's one element with defaults where unset; an absent block means all defaults
    (the Go provider reads element 0 of every block)."""
    values = state.get(spec.name)
    given = values[0] if isinstance(values, list) and values else {}
    merged = spec.defaults()
    merged.update({k: v for k, v in given.items() if v is not None})
    return merged


def rows(values: Any, spec: BlockSpec) -> list[dict[str, Any]]:
    """Every element of a repeated block, defaults where unset."""
    out = []
    for given in values if isinstance(values, list) else []:
        merged = spec.defaults()
        merged.update({k: v for k, v in given.items() if v is not None})
        out.append(merged)
    return out


def payload(state: dict[str, Any]) -> dict[str, Any]:
    """The POST body (and, with `action`, the PUT body) for `state`."""
    framework = str(state.get("framework") or "")
    body: dict[str, Any] = {
        "name": state.get("name"),
        "path": state.get("model_path") or "",
        "custom_endpoint_details": _custom_endpoint_details(state),
        "model_id": as_id(state.get("model_id")),
        "committed_days": state.get("committed_days") or 0,
        "committed_instance_policy": state.get("committed_instance_policy") or "",
        "replica": state.get("replica", 1),
        "committed_replicas": state.get("committed_replicas") or 0,
        "framework": tir_frameworks.rest_value(framework),
        "is_auto_scale_enabled": bool(state.get("is_auto_scale_enabled")),
        "auto_scale_policy": auto_scale_policy(state),
        "detailed_info": detailed_info(state, framework),
        "model_load_integration_id": as_id(state.get("model_load_integration_id")),
        "dataset_id": as_id(state.get("dataset_id")),
        "dataset_path": state.get("dataset_path") or "",
        "cluster_type": state.get("cluster_type"),
        "storage_type": state.get("storage_type"),
        "category": CATEGORY,
        "location": state.get("location"),
        "currency": state.get("currency"),
    }
    private_cloud = as_id(state.get("private_cloud_id"))
    if private_cloud is not None:  # a private cluster: its own shape instead of a plan
        body["private_cloud_id"] = private_cloud
        body["custom_sku"] = state.get("custom_sku")
    else:
        body["sku_name"] = state.get("sku_name")
        body["sku_type"] = state.get("sku_type")
    sfs_id = as_id(state.get("sfs_id"))
    if sfs_id:
        body["sfs_id"] = sfs_id
    for name in ("sfs_path", "disk_path"):
        if state.get(name):
            body[name] = state[name]
    return body


def async_body(state: dict[str, Any]) -> dict[str, Any]:
    """The PUT body of TIR's `update_async_configuration` action for `async_configuration`
    (Modelport's block; absent: async off)."""
    config = element(state, ASYNC_CONFIGURATION)
    body: dict[str, Any] = {
        "action": "update_async_configuration",
        "async_enabled": bool(config["async_enabled"]),
        "async_concurrent_workers": config["async_concurrent_workers"],
        "async_destination_type": config["async_destination_type"],
        "async_target_routes": [
            {"route_name": r["route_name"], "route_value": r["route_value"]}
            for r in rows(config.get("async_target_routes"), ASYNC_ROUTES)
        ],
    }
    dataset = as_id(config["async_dataset_id"])
    if dataset is not None:
        body["async_dataset_id"] = dataset
    return body


def as_id(value: Any) -> int | str | None:
    """A TIR id attribute ("12") as the integer TIR's provider sends; "" is null. A name
    (Modelport accepts integrations and models by name) is sent as it is."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    return int(text) if text.isdigit() else text


def encode_command(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def engine_arg(value: str) -> Any:
    """An engine_args value as the Go provider sends it: int, else float, else bool, else the
    string (strconv.Atoi / ParseFloat / ParseBool)."""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        pass
    if value in ("t", "T", "TRUE", "true", "True"):
        return True
    if value in ("f", "F", "FALSE", "false", "False"):
        return False
    return value


def auto_scale_policy(state: dict[str, Any]) -> dict[str, Any]:
    policy = element(state, AUTO_SCALE_POLICY)
    body = {WIRE_NAMES.get(k, k): v for k, v in policy.items() if k != "rules"}
    body["rules"] = rows(policy.get("rules"), RULES)
    return body


def detailed_info(state: dict[str, Any], framework: str) -> dict[str, Any]:
    info = element(state, DETAILED_INFO)
    info["engine_args"] = {k: engine_arg(str(v)) for k, v in (info["engine_args"] or {}).items()}
    info["commands"] = encode_command(info["commands"])
    info["args"] = encode_command(info["args"])
    info["hugging_face_id"] = tir_frameworks.hugging_face_id(framework, info["hugging_face_id"])
    return info


def probe(state: dict[str, Any], spec: BlockSpec) -> dict[str, Any]:
    values = element(state, spec)
    return {k: v for k, v in values.items() if v != "" or k not in _PROBE_OMIT_EMPTY}


def _custom_endpoint_details(state: dict[str, Any]) -> dict[str, Any]:
    readiness, liveness = PROBES
    resource = element(state, RESOURCE_DETAILS)
    resource["env_variables"] = [
        {
            "key": row["key"],
            "value": row["value"],
            "disabled": row["disabled"] or {},
            "required": bool(row["required"]),
        }
        for row in rows(resource.get("env_variables"), ENV_VARIABLES)
    ]
    return {
        "service_port": bool(state.get("service_port")),
        "metric_port": bool(state.get("metric_port")),
        "container": {
            "container_name": "",
            "container_type": state.get("container_type"),
            "private_image_details": {},
            "advance_config": {
                "image_pull_policy": state.get("image_pull_policy") or "Always",
                "is_readiness_probe_enabled": bool(state.get("is_readiness_probe_enabled")),
                "is_liveness_probe_enabled": bool(state.get("is_liveness_probe_enabled")),
                "readiness_probe": probe(state, readiness),
                "liveness_probe": probe(state, liveness),
            },
        },
        "resource_details": resource,
        "public_ip": state.get("public_ip") or "no",
    }
