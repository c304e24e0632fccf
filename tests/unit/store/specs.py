"""Small valid specs for store tests."""

from __future__ import annotations

from modelport.domain.specs import EndpointSpec, Framework


def custom_spec(replicas: int = 1) -> EndpointSpec:
    return EndpointSpec(
        framework=Framework.CUSTOM, command=["serve", "--port", "{port}"], replicas=replicas
    )
