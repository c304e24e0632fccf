from __future__ import annotations

from typing import Any

from modelport.domain.launch import LaunchContext
from modelport.domain.specs import EndpointSpec

HOST = "127.0.0.1"
PORT = 18123


def spec_of(**fields: Any) -> EndpointSpec:
    return EndpointSpec.model_validate(fields)


def at(
    name: str, env: dict[str, str] | None = None, replica_key: str | None = None
) -> LaunchContext:
    """The launch context these tests plan with: endpoint `name` on HOST:PORT."""
    return LaunchContext(host=HOST, port=PORT, env=env or {}, name=name, replica_key=replica_key)
