from __future__ import annotations

from typing import Any

from modelport.domain.specs import EndpointSpec

HOST = "127.0.0.1"
PORT = 18123


def spec_of(**fields: Any) -> EndpointSpec:
    return EndpointSpec.model_validate(fields)
