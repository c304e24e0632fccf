"""What TIR's Go Terraform provider does with a GET answer: SetSchemaFromResponse
(client/modelEndpoint_client.go) mirrored in Python, over the Go schema (resource_modelEndpoint.go
ResourceModel) written out by hand below. It returns the values the provider would `d.Set`, and
fails (AssertionError) where the Go code panics (a type assertion on a missing or mistyped value)
or where terraform-plugin-sdk's `d.Set` fails: a key of a nested object that the schema lacks
("Invalid address to set"), or a value mapstructure will not decode into the schema's type.

Stricter than the SDK in one way: a nested object must have every key of its schema, since a
missing one reads as zero and shows as a diff in the next plan.
"""

from __future__ import annotations

from typing import Any

# The Go schema's types (helper/schema): a dict is a TypeList of that nested Resource.
STRING, INT, BOOL, MAP_BOOL, MAP_STRING = "string", "int", "bool", "map of bool", "map of string"

RULES = {
    "metric": STRING,
    "value": INT,
    "condition_type": STRING,
    "watch_period": INT,
    "granularity": INT,
    "window": INT,
    "custom_metric_name": STRING,
}
AUTO_SCALE_POLICY = {"min_replicas": INT, "max_replicas": INT, "rules": RULES,
                     "stability_period": INT}  # fmt: skip
DETAILED_INFO = {
    "commands": STRING,
    "args": STRING,
    "hugging_face_id": STRING,
    "tokenizer": STRING,
    "server_version": STRING,
    "world_size": INT,
    "error_log": BOOL,
    "info_log": BOOL,
    "warning_log": BOOL,
    "log_verbose_level": INT,
    "model_serve_type": STRING,
    "engine_args": MAP_STRING,
}
READINESS_PROBE = {
    "protocol": STRING,
    "initial_delay_seconds": INT,
    "success_threshold": INT,
    "failure_threshold": INT,
    "port": INT,
    "period_seconds": INT,
    "timeout_seconds": INT,
    "path": STRING,
    "grpc_service": STRING,
    "commands": STRING,
}
ENV_VARIABLES = {"key": STRING, "value": STRING, "required": BOOL, "disabled": MAP_BOOL}
RESOURCE_DETAILS = {"disk_size": INT, "mount_path": STRING, "env_variables": ENV_VARIABLES}
# Top-level attributes SetSchemaFromResponse copies from `data` as they are.
TOP_LEVEL = {
    "name": STRING,
    "status": STRING,
    "created_at": STRING,
    "storage_type": STRING,
    "disk_path": STRING,
    "sfs_path": STRING,
    "replica": INT,
    "committed_replicas": INT,
}
# attribute -> (sku_details part, key, type)
FROM_SKU = {
    "sku_name": ("specs", "name", STRING),
    "sku_type": ("plan", "sku_type", STRING),
    "committed_days": ("plan", "committed_days", INT),
    "currency": ("plan", "currency", STRING),
}


def go_read(answer: dict[str, Any]) -> dict[str, Any]:
    """The attributes TIR's provider sets from `answer` (a parsed GET body)."""
    data = answer.get("data")
    assert isinstance(data, dict), "invalid response format: 'data' is missing or not a map"
    state = {name: _decoded(name, data.get(name), kind) for name, kind in TOP_LEVEL.items()}
    sku = data.get("sku_details")
    if isinstance(sku, dict):
        for name, (part, key, kind) in FROM_SKU.items():
            assert isinstance(sku.get(part), dict), f"panic: sku_details.{part} is not a map"
            state[name] = _decoded(name, sku[part].get(key), kind)
    policy = data.get("auto_scale_policy")
    if isinstance(policy, dict):
        state["auto_scale_policy"] = _parsed(
            "auto_scale_policy", policy, "stability_period", AUTO_SCALE_POLICY
        )
    info = data.get("detailed_info")
    assert isinstance(info, dict), "panic: assignment to entry in nil map (detailed_info)"
    engine_args = info.get("engine_args")
    printed = (
        {k: _sprint(v) for k, v in engine_args.items()} if isinstance(engine_args, dict) else {}
    )
    info = {**info, "engine_args": printed, "args": "", "commands": ""}
    state["detailed_info"] = [_object("detailed_info", info, DETAILED_INFO)]
    details = data.get("custom_endpoint_details")
    details = details if isinstance(details, dict) else {}  # Go: indexing a nil map is allowed
    container = details.get("container")
    advance = container.get("advance_config") if isinstance(container, dict) else None
    if isinstance(advance, dict):
        for flag in ("is_readiness_probe_enabled", "is_liveness_probe_enabled"):
            state[flag] = _decoded(flag, advance.get(flag), BOOL)
        probe = advance.get("readiness_probe")
        if isinstance(probe, dict):
            state["readiness_probe"] = _parsed("readiness_probe", probe, "port", READINESS_PROBE)
    resources = details.get("resource_details")
    if isinstance(resources, dict):
        state["resource_details"] = [_object("resource_details", resources, RESOURCE_DETAILS)]
    state["public_ip"] = _decoded("public_ip", details.get("public_ip"), STRING)
    state["stop_inference"] = "stop" if state["status"] == "stopped" else "start"
    return state


def _parsed(
    name: str, value: dict[str, Any], key: str, schema: dict[str, Any]
) -> list[dict[str, Any]]:
    """A block whose `key` the Go code type-asserts as a string, then strconv.Atoi's."""
    text = value.get(key)
    assert isinstance(text, str), f"panic: {name}.{key}.(string) on {text!r}"
    return [_object(name, {**value, key: _atoi(text)}, schema)]


def _object(path: str, value: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    extra = set(value) - set(schema)
    assert not extra, f"Invalid address to set: {path}.{sorted(extra)} (not in the Go schema)"
    missing = set(schema) - set(value)
    assert not missing, f"{path}: {sorted(missing)} missing (read as zero: a diff every plan)"
    return {key: _decoded(f"{path}.{key}", value[key], schema[key]) for key in schema}


def _decoded(path: str, value: Any, kind: Any) -> Any:
    """mapstructure.Decode into the schema's type (not weakly typed: no string <-> number)."""
    if isinstance(kind, dict):
        assert value is None or isinstance(value, list), f"{path}: not a list of objects"
        return [_object(f"{path}.{n}", item, kind) for n, item in enumerate(value or [])]
    if value is None:
        return None  # d.Set stores the zero value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind == STRING:
        assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
    elif kind == INT:
        assert number, f"{path}: expected a number (TypeInt), got {value!r}"
        return int(value)
    elif kind == BOOL:
        assert isinstance(value, bool), f"{path}: expected a boolean, got {value!r}"
    elif kind in (MAP_BOOL, MAP_STRING):
        assert isinstance(value, dict), f"{path}: expected a map, got {value!r}"
        want = bool if kind == MAP_BOOL else str
        assert all(isinstance(v, want) for v in value.values()), f"{path}: {value!r}"
    return value


def _atoi(text: str) -> int:
    """strconv.Atoi with its error ignored, as the Go code does."""
    return int(text) if text.lstrip("-").isdigit() else 0


def _sprint(value: Any) -> str:
    """fmt.Sprintf("%v") of a JSON value as encoding/json decodes it (numbers are float64)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    return "<nil>" if value is None else str(value)
