"""Endpoint answers TIR's own (Go) Terraform provider can read: served under /tir/terraform only.

Its Read (SetSchemaFromResponse, client/modelEndpoint_client.go) hands nested objects of the
answer to terraform-plugin-sdk's `d.Set` as one-element lists, and `d.Set` of a list of objects
fails ("Invalid address to set") on any key the Go schema lacks, failing the whole Read. It also
type-asserts `auto_scale_policy.stability_period` and the readiness probe's `port` as strings (a
panic otherwise) and writes into `detailed_info` as a map (a panic when it is missing). So under
/tir/terraform those blocks carry exactly the Go schema's keys (resource/modelEndpoint's
ResourceModel), in its types. Every other prefix answers as before: the e2enetworks SDK needs
`auto_scale_policy.initial_cooldown_period`, and env variables say whether they are `secret`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any


class Kind(Enum):
    """A key's type in the Go schema, as the answer must carry it."""

    STRING = "string"
    INT = "int"
    BOOL = "bool"
    MAP = "map"  # TypeMap: an object of scalars
    INT_TEXT = "int as string"  # TypeInt that SetSchemaFromResponse parses from a string
    BLOCKS = "blocks"  # TypeList of objects: a list of `GoBlock.children[key]`


_ZERO: Mapping[Kind, Any] = MappingProxyType(
    {
        Kind.STRING: "",
        Kind.INT: 0,
        Kind.BOOL: False,
        Kind.MAP: {},
        Kind.INT_TEXT: "0",
        Kind.BLOCKS: [],
    }
)


@dataclass(frozen=True)
class GoBlock:
    """One nested block of the Go schema: its keys, and the block of each list-of-objects key."""

    keys: Mapping[str, Kind]
    children: Mapping[str, GoBlock] = field(default_factory=dict)


STR, INT, BOOL = Kind.STRING, Kind.INT, Kind.BOOL
RULE = GoBlock(
    {
        "metric": STR,
        "value": INT,
        "condition_type": STR,
        "watch_period": INT,
        "granularity": INT,
        "window": INT,
        "custom_metric_name": STR,
    }
)
AUTO_SCALE_POLICY = GoBlock(
    {
        "min_replicas": INT,
        "max_replicas": INT,
        "stability_period": Kind.INT_TEXT,
        "rules": Kind.BLOCKS,
    },
    {"rules": RULE},
)
DETAILED_INFO = GoBlock(
    {
        "commands": STR,
        "args": STR,
        "hugging_face_id": STR,
        "tokenizer": STR,
        "server_version": STR,
        "world_size": INT,
        "error_log": BOOL,
        "info_log": BOOL,
        "warning_log": BOOL,
        "log_verbose_level": INT,
        "model_serve_type": STR,
        "engine_args": Kind.MAP,  # values as the server has them: Go prints each with %v
    }
)
PROBE = GoBlock(
    {
        "protocol": STR,
        "initial_delay_seconds": INT,
        "success_threshold": INT,
        "failure_threshold": INT,
        "port": Kind.INT_TEXT,
        "period_seconds": INT,
        "timeout_seconds": INT,
        "path": STR,
        "grpc_service": STR,
        "commands": STR,
    }
)
ENV_VARIABLE = GoBlock({"key": STR, "value": STR, "required": BOOL, "disabled": Kind.MAP})
RESOURCE_DETAILS = GoBlock(
    {"disk_size": INT, "mount_path": STR, "env_variables": Kind.BLOCKS},
    {"env_variables": ENV_VARIABLE},
)

_ADVANCE = ("custom_endpoint_details", "container", "advance_config")
# Where each block sits in an endpoint's `data`.
PLACES: Mapping[tuple[str, ...], GoBlock] = MappingProxyType(
    {
        ("auto_scale_policy",): AUTO_SCALE_POLICY,
        ("detailed_info",): DETAILED_INFO,
        (*_ADVANCE, "readiness_probe"): PROBE,
        (*_ADVANCE, "liveness_probe"): PROBE,
        ("custom_endpoint_details", "resource_details"): RESOURCE_DETAILS,
    }
)


def for_go_provider(data: dict[str, Any]) -> dict[str, Any]:
    """An endpoint's `data` with each block of PLACES in the Go schema's keys and types (a copy;
    a block whose parent object is missing stays missing: the Go provider skips it)."""
    out = copy.deepcopy(data)
    # Its Read sets stop_inference from `status == "stopped"` and its Update picks "update" over
    # "patch" the same way: lower case, or a stopped endpoint is a diff in every plan.
    if isinstance(out.get("status"), str):
        out["status"] = out["status"].lower()
    for place, block in PLACES.items():
        parent: Any = out
        for key in place[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            given = parent.get(place[-1])
            parent[place[-1]] = _shaped(given if isinstance(given, dict) else {}, block)
    return out


def _shaped(given: dict[str, Any], block: GoBlock) -> dict[str, Any]:
    return {key: _value(given.get(key), kind, block, key) for key, kind in block.keys.items()}


def _value(value: Any, kind: Kind, block: GoBlock, key: str) -> Any:
    if value is None:
        return copy.copy(_ZERO[kind])
    if kind is Kind.BLOCKS:
        child = block.children[key]
        return [_shaped(item, child) for item in value if isinstance(item, dict)]
    if kind is Kind.INT and isinstance(value, float) and value.is_integer():
        return int(value)  # e.g. a rule's value, a float here, a TypeInt there
    if kind is Kind.INT_TEXT:
        return str(int(value)) if isinstance(value, int | float) else str(value)
    return value
