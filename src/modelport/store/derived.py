"""Columns derived from an endpoint's spec on every write, so lists and the controller filter
on an index instead of parsing every spec (framework, the dialect that made it, autoscaling)."""

from __future__ import annotations

from typing import Any

from modelport.domain.specs import EndpointSpec


def derived_columns(spec: EndpointSpec) -> dict[str, Any]:
    """The values of the endpoints table's derived columns for this spec."""
    return {
        "framework": spec.framework.value,
        "origin": origin_of(spec),
        "autoscaled": spec.autoscale.enabled,
    }


def origin_of(spec: EndpointSpec) -> str | None:
    """The dialect whose fields the spec keeps (its `extensions` key), None for native ones.
    With several (not made by any API today) the first by name stands for all."""
    return min(spec.extensions, default=None)
