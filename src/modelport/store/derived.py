"""Columns derived from an endpoint's spec on every write, so lists, lookups and the controller
filter on an index instead of parsing every spec (framework, the dialect that made it,
autoscaling, the vendor's own id of it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelport.domain.dialects import DEEPINFRA, TENSORMESH
from modelport.domain.specs import EndpointSpec

# The field of a dialect's extension that holds the id its clients call the endpoint by
# (DeepInfra's deploy_id, Tensormesh's modelId). Dialects without one (TIR uses our ids) are
# left out.
VENDOR_ID_FIELDS: Mapping[str, str] = {DEEPINFRA.name: "deploy_id", TENSORMESH.name: "modelId"}
VENDOR_ID_LENGTH = 64  # the column's width; longer ids are not stored (no dialect makes one)


def derived_columns(spec: EndpointSpec) -> dict[str, Any]:
    """The values of the endpoints table's derived columns for this spec."""
    origin = origin_of(spec)
    return {
        "framework": spec.framework.value,
        "origin": origin,
        "autoscaled": spec.autoscale.enabled,
        "vendor_id": vendor_id_in(spec.extensions, origin),
    }


def origin_of(spec: EndpointSpec) -> str | None:
    """The dialect whose fields the spec keeps (its `extensions` key), None for native ones.
    With several (not made by any API today) the first by name stands for all."""
    return min(spec.extensions, default=None)


def vendor_id_in(extensions: Mapping[str, Any], origin: str | None) -> str | None:
    """The id the origin dialect's clients name the endpoint by, from its spec's extensions;
    None when it has none (or a native patch replaced the extension with something else)."""
    field = VENDOR_ID_FIELDS.get(origin or "")
    extension = extensions.get(origin or "")
    if field is None or not isinstance(extension, dict):
        return None
    value = extension.get(field)
    return value if isinstance(value, str) and len(value) <= VENDOR_ID_LENGTH else None
