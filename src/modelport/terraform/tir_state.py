"""GET's answer (the TIR endpoint object) mapped back onto `tir_model_endpoint`'s state.

Every attribute the answer carries is read, so a change made elsewhere (CLI, native API) is a
diff in the next plan. Where the server's value means what the prior state says, the prior's
spelling is kept: the comparison is between the server's value and what the provider sends for
the prior (`tir_payload`), so `PYTORCH` vs `pytorch`, `"4"` vs `4`, base64 vs plain commands,
`stability_period` as a string, and masked secret env values are no drift. Blocks the prior
state does not have stay absent (after an import: all of them)."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from modelport.terraform import tir_frameworks
from modelport.terraform.tfcompat import Unknown
from modelport.terraform.tir_payload import (
    ADVANCE,
    BLOCK_PLACES,
    CONTAINER,
    WIRE_NAMES,
    async_body,
    payload,
)
from modelport.terraform.tir_schema import (
    BLOCKS,
    FIELDS,
    START,
    STOP,
    BlockSpec,
    Field,
    Kind,
    Mode,
)

MASK = "********"  # how the server answers a secret env value
_MISSING = object()
_PLAN = ("sku_details", "plan")
# Top-level attribute -> (where the provider sends it, where GET answers it).
PLACES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "name": (("name",), ("name",)),
    "model_path": (("path",), ("path",)),
    "sku_name": (("sku_name",), ("sku_details", "specs", "name")),
    "sku_type": (("sku_type",), (*_PLAN, "sku_type")),
    "committed_days": (("committed_days",), (*_PLAN, "committed_days")),
    "currency": (("currency",), (*_PLAN, "currency")),
    "container_type": ((*CONTAINER, "container_type"),) * 2,
    "container_name": ((*CONTAINER, "container_name"),) * 2,
    **{k: ((*ADVANCE, k),) * 2 for k in ("image_pull_policy",)},
    **{
        k: ((*ADVANCE, k),) * 2 for k in ("is_readiness_probe_enabled", "is_liveness_probe_enabled")
    },
    **{
        k: (("custom_endpoint_details", k),) * 2
        for k in ("service_port", "metric_port", "public_ip")
    },
    **{
        k: ((k,),) * 2
        for k in (
            "framework",
            "model_id",
            "model_load_integration_id",
            "dataset_id",
            "dataset_path",
            "replica",
            "committed_replicas",
            "is_auto_scale_enabled",
            "cluster_type",
            "storage_type",
            "disk_path",
            "sfs_path",
            "sfs_id",
            "committed_instance_policy",
            "private_cloud_id",
            "custom_sku",
            "location",
            "status",
            "created_at",
        )
    },
}
_MAPS = frozenset({Kind.MAP_STR, Kind.MAP_NUM, Kind.MAP_BOOL})
STOPPED_STATUSES = frozenset({"stopped", "terminating"})


def read_state(prior: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The state after a read: `prior` (the state, or an import's few ids) and GET's `data`."""
    sent = payload(prior)
    state: dict[str, Any] = {}
    for f in FIELDS:
        if f.name not in PLACES:  # client-side, or derived below
            state[f.name] = _keep(prior.get(f.name), f)
            continue
        wire_path, read_path = PLACES[f.name]
        state[f.name] = merge(f, prior.get(f.name), dig(sent, wire_path), dig(data, read_path))
    state["id"] = str(data.get("id", prior.get("id")))
    status = str(data.get("status") or "")
    state["stop_inference"] = STOP if status.lower() in STOPPED_STATUSES else START
    for spec in BLOCKS:
        state[spec.name] = _read_block(spec, prior, sent, data)
    return state


def dig(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return _MISSING
        data = data[key]
    return data


def merge(f: Field, prior: Any, wire: Any, server: Any) -> Any:
    """The attribute's new value: the prior's when the server's means the same, else the
    server's in Terraform's terms; the prior's (or the default) when the server has none."""
    if prior is Unknown:  # planned, not yet known: the server's value is the one
        prior = None
    if server is _MISSING:
        return _keep(prior, f)
    if prior is not None and same(f.name, wire, server):
        return prior
    if prior is None and f.kind in _MAPS and same(f.name, None, server):
        return None  # an unset map the server answers empty (or all false)
    if f.name in ("commands", "args"):
        return decoded(server) if server is not None else ""
    return terraform_value(f.kind, server)


def same(name: str, wire: Any, server: Any) -> bool:
    if wire is _MISSING:
        wire = None
    if name == "framework":
        return tir_frameworks.same_framework(_text(wire), _text(server))
    if name in ("commands", "args"):
        return bool(normal(decoded(wire)) == normal(decoded(server)))
    if name == "disabled":  # {} and all-false flags mean the same
        return _flags(wire) == _flags(server)
    return bool(normal(wire) == normal(server))


def normal(value: Any) -> Any:
    """A value with the differences that mean nothing removed: number vs numeric string,
    "true" vs true, "" vs null vs {} vs []."""
    if value in (None, "", {}, []):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        try:
            number = float(value)
        except ValueError:
            return value
        return number if math.isfinite(number) else value
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


def decoded(value: Any) -> Any:
    """A base64 command (as TIR's provider sends it) as its text; anything else as it is."""
    if not isinstance(value, str) or not value:
        return value
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value
    return text if base64.b64encode(text.encode()).decode() == value else value


def terraform_value(kind: Kind, value: Any) -> Any:
    """A server value as the attribute's Terraform type."""
    if kind is Kind.STR:
        return "" if value is None else go_text(value)
    if kind is Kind.NUM:
        return _number(value)
    if kind is Kind.BOOL:
        return normal(value) is True
    if not isinstance(value, dict):
        return None
    element = {Kind.MAP_STR: Kind.STR, Kind.MAP_NUM: Kind.NUM, Kind.MAP_BOOL: Kind.BOOL}[kind]
    return {str(k): terraform_value(element, v) for k, v in value.items()}


def go_text(value: Any) -> str:
    """A value as text the way the Go provider prints engine_args (fmt "%v")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> int | float | None:
    if value is None or value == "":
        return None
    number = float(value) if not isinstance(value, int | float) else value
    return int(number) if float(number).is_integer() else number


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _flags(value: Any) -> dict[str, bool]:
    return {str(k): True for k, v in value.items() if v} if isinstance(value, dict) else {}


def _keep(prior: Any, f: Field) -> Any:
    if prior is not None or f.mode is not Mode.OPTIONAL:
        return prior
    return f.default


def _wire_block(spec: BlockSpec, prior: dict[str, Any], sent: dict[str, Any]) -> Any:
    if spec.name == "async_configuration":
        return async_body(prior)
    return dig(sent, BLOCK_PLACES[spec.name])


def _read_block(
    spec: BlockSpec, prior: dict[str, Any], sent: dict[str, Any], data: dict[str, Any]
) -> Any:
    had = prior.get(spec.name)
    if not isinstance(had, list) or not had:
        return had if isinstance(had, list) else None  # absent stays absent
    place = BLOCK_PLACES.get(spec.name, (spec.name,))
    server = dig(data, place)
    if not isinstance(server, dict):
        return had
    return [_element(spec, had[0], _wire_block(spec, prior, sent), server)]


def _element(spec: BlockSpec, prior: dict[str, Any] | None, wire: Any, server: Any) -> Any:
    before = prior or {}
    wired = wire if isinstance(wire, dict) else {}
    out: dict[str, Any] = {}
    for f in spec.fields:
        key = WIRE_NAMES.get(f.name, f.name)
        value = server.get(f.name, server.get(key, _MISSING))
        if f.name == "value" and value == MASK and before.get("value") is not None:
            value = _MISSING  # a secret the server never shows: the prior's stands
        was = before.get(f.name) if prior is not None else None
        out[f.name] = merge(f, was, wired.get(key, _MISSING), value)
    for inner in spec.blocks:
        rows = server.get(inner.name)
        if not isinstance(rows, list):
            out[inner.name] = before.get(inner.name)
            continue
        had = before.get(inner.name) or []
        sent_rows = wired.get(inner.name) or []
        out[inner.name] = [
            _element(
                inner,
                had[i] if i < len(had) else None,
                sent_rows[i] if i < len(sent_rows) else None,
                row if isinstance(row, dict) else {},
            )
            for i, row in enumerate(rows)
        ]
    return out
