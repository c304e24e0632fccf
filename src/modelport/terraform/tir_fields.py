"""The field a TIR refusal names (`custom_endpoint_details.resource_details.disk_size`, `path`,
`auto_scale_policy.rules.0.metric`) as the `tir_model_endpoint` attribute path it came from, so
an error diagnostic points at the line of the configuration to change."""

from __future__ import annotations

from modelport.terraform.calls import Path
from modelport.terraform.tir_payload import BLOCK_PLACES, WIRE_NAMES
from modelport.terraform.tir_schema import BLOCKS, BY_NAME, BlockSpec
from modelport.terraform.tir_state import PLACES

# REST field -> attribute, for the top-level attributes (sent and answered spellings).
_TOP: dict[str, str] = {
    **{".".join(read): name for name, (_, read) in PLACES.items()},
    **{".".join(sent): name for name, (sent, _) in PLACES.items()},
    # The plan is chosen by sku_name; a refusal of the plan's ids is about it.
    "sku_id": "sku_name",
    "sku_item_price_id": "sku_name",
    "sku_details": "sku_name",
}
_ASYNC = {
    key: ["async_configuration", (0,), key]
    for key in ("async_enabled", "async_concurrent_workers", "async_dataset_id")
}
_ASYNC["async_destination_type"] = ["async_configuration", (0,), "async_destination_type"]
_ASYNC["async_target_routes"] = ["async_configuration", (0,), "async_target_routes"]
_FROM_WIRE = {wire: name for name, wire in WIRE_NAMES.items()}


def attribute_path(field: str) -> Path | None:
    """The attribute path of a REST field name, or None when it is none of ours."""
    if field in BY_NAME:
        return [field]
    if field in _TOP:
        return [_TOP[field]]
    if field in _ASYNC:
        return list(_ASYNC[field])
    parts = field.split(".")
    for spec in BLOCKS:
        place = list(BLOCK_PLACES.get(spec.name, (spec.name,)))
        for prefix in (place, [spec.name]):
            if parts[: len(prefix)] == prefix:
                return [spec.name, *_inside(spec, parts[len(prefix) :])]
    return None


def _inside(spec: BlockSpec, rest: list[str]) -> Path:
    """The path inside the block's (only) element: `[(0,), "rules", (1,), "metric"]`."""
    path: Path = [(0,)]
    while rest:
        name, rest = _FROM_WIRE.get(rest[0], rest[0]), rest[1:]
        inner = next((b for b in spec.blocks if b.name == name), None)
        if inner is None:
            if any(f.name == name for f in spec.fields):
                path.append(name)
            return path
        path.append(name)
        if not rest or not rest[0].isdigit():
            return path
        path.append((int(rest[0]),))
        spec, rest = inner, rest[1:]
    return path
