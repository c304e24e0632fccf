"""The gateway's seam for queued (async) invocations: it hands a request over, it stores nothing.

Two URLs reach an injected `AsyncIntake` instead of a replica:

- native `POST /endpoints/{name}/async/{path}` (always; `path` = "/" + the rest), and
- TIR's inference URL `POST /tir/project/p-{project}/endpoint/is-{id}/{path}` when the
  endpoint's `spec.async_config.enabled` is on and `/{path}` is one of its target routes'
  `route_value` (`EndpointRoute.async_enabled` / `async_paths`, built with the route table).

Without an intake the native URL answers 404 and the TIR URL is proxied as usual.

Shape (what `Gateway(async_intake=...)` calls, once per request, after authentication and the
token's limits, with the endpoint already resolved and authorised for the caller):

    async def submit(principal, route, method, path, body, headers, request_id) -> IntakeAnswer

- `principal`: the authenticated caller (`services.auth.Principal`).
- `route`: the `EndpointRoute` (endpoint id, project id, name; replicas may be empty: queued work
  is demand, an endpoint at zero is not held here).
- `method`: "POST"; `path`: the path (and "?query") the replica would get, e.g.
  "/v1/chat/completions"; `body`: the request body as sent.
- `headers`: the client's headers, lower-case names, minus credentials (Authorization,
  xi-api-key, cookies) and hop-by-hop ones; e.g. `idempotency-key`, `content-type`.
- `request_id`: the gateway's X-Request-Id for this request.

The intake answers every outcome (202 accepted, 429 queue full, 400 bad input, ...) as an
`IntakeAnswer`; the gateway writes `body_json` as JSON with `headers` and its X-Request-Id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from modelport.gateway.headers import HOP_BY_HOP
from modelport.gateway.routes import EndpointRoute
from modelport.services.auth import Principal

ASYNC_SEGMENT = "/async/"  # /endpoints/{name}/async/{path}
# Never handed over: credentials stay at the gateway (an intake may store what it gets).
_DROPPED = HOP_BY_HOP | {
    b"authorization",
    b"xi-api-key",
    b"cookie",
    b"content-length",
    b"host",
}


@dataclass(frozen=True, slots=True)
class IntakeAnswer:
    status: int
    body_json: object
    headers: tuple[tuple[bytes, bytes], ...] = ()  # lower-case names, e.g. retry-after


class AsyncIntake(Protocol):
    async def submit(
        self,
        principal: Principal,
        route: EndpointRoute,
        method: str,
        path: str,
        body: bytes,
        headers: tuple[tuple[str, str], ...],
        request_id: str,
    ) -> IntakeAnswer: ...


def intake_headers(raw: Iterable[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    """The client's headers an intake may see and keep (see the module docstring)."""
    return tuple(
        (name.lower().decode("latin-1"), value.decode("latin-1"))
        for name, value in raw
        if name.lower() not in _DROPPED
    )


def is_async_target(route: EndpointRoute, method: str, forward_path: str) -> bool:
    """A TIR inference request the endpoint's async configuration queues."""
    return (
        method == "POST"
        and route.async_enabled
        and forward_path.partition("?")[0] in route.async_paths
    )


def split_async_path(forward_path: str) -> str | None:
    """'/async/v1/chat?x' (the tail after /endpoints/{name}) -> '/v1/chat?x'; None otherwise."""
    if forward_path.startswith(ASYNC_SEGMENT):
        return forward_path[len(ASYNC_SEGMENT) - 1 :]
    return None
