"""A `ClientSide` that rewrites a replica's successful JSON answer before the client sees it.

For an operation an engine serves in another shape (gateway/engine_routes.py): the proxy's
balancing, retries and metrics stay as they are; a 2xx answer is read whole (also one the
replica streamed in chunks), reshaped and sent with its new length. Error answers pass through
as the replica sent them. An answer that cannot be reshaped is a 502 in the OpenAI error shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from modelport.gateway.downstream import ClientSide, Headers
from modelport.gateway.engine_routes import BadAnswer
from modelport.gateway.responses import JSON_TYPE
from modelport.gateway.upstream import UpstreamConnection

Reshape = Callable[[dict[str, Any]], dict[str, Any]]
_REFRAMED = frozenset({b"content-length", b"content-type", b"content-encoding"})
_HELD_LIMIT = 16 * 1024 * 1024  # a streamed answer kept longer than this is not reshaped


class ReshapingClient:
    """`ClientSide` over `client` that passes a 2xx JSON answer through `reshape`."""

    def __init__(self, client: ClientSide, reshape: Reshape, what: str) -> None:
        self._client = client
        self._reshape = reshape
        self._what = what  # the operation, for the 502's message
        self._held: tuple[int, Headers] | None = None  # a streamed answer, kept until its end
        self._parts: list[bytes] = []
        self._size = 0

    async def read_body(self, declared: int | None, limit: int) -> bytes:
        return await self._client.read_body(declared, limit)

    def watch(self, upstream: UpstreamConnection | None) -> None:
        self._client.watch(upstream)

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        if not 200 <= status < 300:
            await self._client.respond(status, headers, body)
            return
        try:
            answer = json.loads(body)
            if not isinstance(answer, dict):
                raise BadAnswer("not a JSON object")
            body = json.dumps(self._reshape(answer)).encode()
        except (ValueError, BadAnswer) as exc:
            status = 502
            error = {
                "message": f"the endpoint's answer to {self._what} could not be read: {exc}",
                "type": "bad_gateway",
                "code": "upstream_bad_answer",
            }
            body = json.dumps({"error": error}).encode()
        kept = [(name, value) for name, value in headers if name not in _REFRAMED]
        kept += [JSON_TYPE, (b"content-length", str(len(body)).encode("ascii"))]
        await self._client.respond(status, kept, body)

    async def start(self, status: int, headers: Headers) -> None:
        self._held = (status, headers)
        self._parts = []
        self._size = 0

    async def send(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= _HELD_LIMIT:
            self._parts.append(chunk)

    async def end(self) -> None:
        assert self._held is not None, "end() without start()"
        status, headers = self._held
        self._held = None
        body = b"".join(self._parts) if self._size <= _HELD_LIMIT else b"<too long>"
        await self.respond(status, headers, body)
