"""TIR's Terraform attribute names (seed 001) moved to where TIR's REST body keeps them.

The `tir_model_endpoint` resource is flat where the REST body nests: `model_path` is `path`,
`container_type` / `container_name` / `image_pull_policy` / the probes live under
`custom_endpoint_details.container(.advance_config)`, and `resource_details`, `service_port`,
`metric_port`, `public_ip` under `custom_endpoint_details`. Blocks may arrive as Terraform's
one-element lists. A body may use either spelling; one that says both, differently, is refused
naming the Terraform attribute.
"""

from __future__ import annotations

from typing import Any

CONTAINER = ("custom_endpoint_details", "container")
ADVANCE = (*CONTAINER, "advance_config")

# Terraform attribute -> where the REST body keeps it.
PLACES: dict[str, tuple[str, ...]] = {
    "model_path": ("path",),
    "container_type": (*CONTAINER, "container_type"),
    "container_name": (*CONTAINER, "container_name"),
    "private_image_details": (*CONTAINER, "private_image_details"),
    "image_pull_policy": (*ADVANCE, "image_pull_policy"),
    "is_readiness_probe_enabled": (*ADVANCE, "is_readiness_probe_enabled"),
    "is_liveness_probe_enabled": (*ADVANCE, "is_liveness_probe_enabled"),
    "readiness_probe": (*ADVANCE, "readiness_probe"),
    "liveness_probe": (*ADVANCE, "liveness_probe"),
    "resource_details": ("custom_endpoint_details", "resource_details"),
    "service_port": ("custom_endpoint_details", "service_port"),
    "metric_port": ("custom_endpoint_details", "metric_port"),
    "public_ip": ("custom_endpoint_details", "public_ip"),
}
# Blocks Terraform sends as lists of (at most) one object.
BLOCKS = frozenset(
    {"detailed_info", "auto_scale_policy", "readiness_probe", "liveness_probe", "resource_details"}
)


def nest(data: Any) -> Any:
    """`data` with Terraform's attributes moved into the REST shape; other input unchanged.

    Raises ValueError ("model_path: differs from path; ...") when both spellings disagree."""
    if not isinstance(data, dict) or not any(key in data for key in (*PLACES, *BLOCKS)):
        return data
    out = {key: _one_block(key, value) for key, value in data.items()}
    for attribute, place in PLACES.items():
        if attribute not in out:
            continue
        value = out.pop(attribute)
        if value is None:
            continue  # Terraform's null: not set
        existing = _get(out, place)
        if existing is not _MISSING and existing != value:
            rest = ".".join(place)
            raise ValueError(f"{attribute}: differs from {rest}; send one of them")
        _put(out, place, value)
    return out


def _one_block(key: str, value: Any) -> Any:
    if key in BLOCKS and isinstance(value, list) and len(value) <= 1:
        return value[0] if value else {}
    return value


_MISSING = object()


def _get(data: dict[str, Any], place: tuple[str, ...]) -> Any:
    node: Any = data
    for key in place:
        if not isinstance(node, dict) or key not in node:
            return _MISSING
        node = node[key]
    return node


def _put(data: dict[str, Any], place: tuple[str, ...], value: Any) -> None:
    """Copies each dict on the way (the caller's input is never changed); a non-object in the
    way is left for the schema to name."""
    node = data
    for key in place[:-1]:
        child = node.get(key, {})
        if not isinstance(child, dict):
            return
        copied = dict(child)
        node[key] = copied
        node = copied
    node[place[-1]] = value
