"""Runs E2E's `e2enetworks` SDK (TIR) inside .venv-clients: `init` once, then one public
`EndPoints` method per call. The SDK reads E2E_TIR_API_HOST when it is imported, so the test
sets it in this process's environment (http://HOST:PORT/tir/, trailing slash)."""

from __future__ import annotations

from typing import Any

from rpc import serve

# The SDK's public EndPoints methods the tests call, by name.
ENDPOINT_METHODS = frozenset(
    {
        "list_plans",
        "create",
        "list",
        "get",
        "logs",
        "list_replicas",
        "restart_replica",
        "stop",
        "start",
        "restart",
        "manage_replica_count",
        "upscale_replica",
        "downscale_replica",
        "get_async_invocation_request_status",
        "get_async_invocation_requests_list",
        "get_integration",
        "delete",
    }
)


def init(**arguments: Any) -> None:
    from e2enetworks.cloud import tir

    tir.init(**arguments)


def endpoints(method: str, **arguments: Any) -> Any:
    from e2enetworks.cloud.tir import EndPoints

    if method not in ENDPOINT_METHODS:
        raise ValueError(f"not a method the tests call: {method}")
    return getattr(EndPoints(), method)(**arguments)


if __name__ == "__main__":
    serve({"init": init, "endpoints": endpoints})
