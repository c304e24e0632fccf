"""A `ClientSide` that rewrites a replica's successful JSON answer before the client sees it.

For an operation an engine serves in another shape (gateway/engine_routes.py). The gateway
wraps the client of a request whose operation some engine translates, and arms the wrapper
once the endpoint (hence the engine) is known; unarmed, it passes everything through. Armed, a
2xx answer is read whole (also one the replica streamed in chunks), reshaped and sent with its
new length; error answers pass through as the replica sent them; an answer that cannot be
reshaped is a 502 in the OpenAI error shape. The proxy's balancing, retries and metrics are
unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from modelport.gateway.dialect_paths import Operation
from modelport.gateway.downstream import ClientSide, Headers
from modelport.gateway.engine_routes import BadAnswer
from modelport.gateway.responses import JSON_TYPE
from modelport.gateway.upstream import UpstreamConnection

Reshape = Callable[[dict[str, Any]], dict[str, Any]]
_REFRAMED = frozenset({b"content-length", b"content-type", b"content-encoding"})
_HELD_LIMIT = 16 * 1024 * 1024  # a streamed answer kept longer than this is not reshaped


class ReshapingClient:
    """`ClientSide` over `client` that, once armed, passes a 2xx JSON answer through a reshape."""

    def __init__(self, client: ClientSide, operation: Operation) -> None:
        self._client = client
        self._operation = operation  # for the 502's message
        self._reshape: Reshape | None = None
        self._held: tuple[int, Headers] | None = None  # a streamed answer, kept until its end
        self._parts: list[bytes] = []
        self._size = 0

    def arm(self, reshape: Reshape) -> None:
        self._reshape = reshape

    @property
    def armed(self) -> bool:
        return self._reshape is not None

    @staticmethod
    def identity_encoding(forward: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Request headers asking the engine not to compress: the answer is read, not relayed."""
        kept = [(name, value) for name, value in forward if name.lower() != "accept-encoding"]
        return [*kept, ("Accept-Encoding", "identity")]

    async def read_body(self, declared: int | None, limit: int) -> bytes:
        return await self._client.read_body(declared, limit)

    def watch(self, upstream: UpstreamConnection | None) -> None:
        self._client.watch(upstream)

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        reshape = self._reshape
        if reshape is None or not 200 <= status < 300:
            await self._client.respond(status, headers, body)
            return
        try:
            answer = json.loads(body)
            if not isinstance(answer, dict):
                raise BadAnswer("not a JSON object")
            body = json.dumps(reshape(answer)).encode()
        except (ValueError, BadAnswer) as exc:
            status = 502
            error = {
                "message": f"the endpoint's answer to {self._operation.value} could not be "
                f"read: {exc}",
                "type": "bad_gateway",
                "code": "upstream_bad_answer",
            }
            body = json.dumps({"error": error}).encode()
        kept = [(name, value) for name, value in headers if name not in _REFRAMED]
        kept += [JSON_TYPE, (b"content-length", str(len(body)).encode("ascii"))]
        await self._client.respond(status, kept, body)

    async def start(self, status: int, headers: Headers) -> None:
        if self._reshape is None:
            await self._client.start(status, headers)
            return
        self._held = (status, headers)
        self._parts = []
        self._size = 0

    async def send(self, chunk: bytes) -> None:
        if self._held is None:
            await self._client.send(chunk)
            return
        self._size += len(chunk)
        if self._size <= _HELD_LIMIT:
            self._parts.append(chunk)

    async def end(self) -> None:
        if self._held is None:
            await self._client.end()
            return
        status, headers = self._held
        self._held = None
        body = b"".join(self._parts) if self._size <= _HELD_LIMIT else b"<too long>"
        await self.respond(status, headers, body)
