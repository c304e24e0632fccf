"""A `ClientSide` that keeps the answer instead of sending it: how a worker calls a replica
through the gateway's own proxy (same balancer, retries and replica keys as live traffic)."""

from __future__ import annotations

from modelport.gateway.downstream import Headers
from modelport.gateway.upstream import UpstreamConnection


class CapturedResponse:
    """`gateway.downstream.ClientSide` for one replayed request; the answer ends up here."""

    __slots__ = ("_body", "_chunks", "headers", "status")

    def __init__(self, body: bytes) -> None:
        self._body = body
        self._chunks: list[bytes] = []
        self.status: int | None = None  # None: nothing answered (the proxy raised)
        self.headers: Headers = []

    @property
    def body(self) -> bytes:
        return b"".join(self._chunks)

    async def read_body(self, declared: int | None, limit: int) -> bytes:
        return self._body

    def watch(self, upstream: UpstreamConnection | None) -> None:
        """Nobody can leave: the worker waits for the whole answer."""

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status, self.headers, self._chunks = status, headers, [body]

    async def start(self, status: int, headers: Headers) -> None:
        self.status, self.headers, self._chunks = status, headers, []

    async def send(self, chunk: bytes) -> None:
        self._chunks.append(chunk)

    async def end(self) -> None:
        """The streamed answer is complete."""
