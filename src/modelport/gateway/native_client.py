"""The client of a DeepInfra native inference request, as the gateway and the proxy see it.

`NativeClient` wraps the real `ClientSide` and rewrites what is sent through it, so the
proxy's balancing, retries, streaming and metrics serve this API unchanged:

- every error (the gateway's own 401 / 404 / 429, a replica's 4xx / 5xx) reaches the client in
  DeepInfra's envelope, `{"detail": ...}`;
- once the request is understood (`expect`), the replica's OpenAI answer becomes DeepInfra's:
  a whole answer is translated whole; a stream is translated event by event as it arrives.

The translation itself is `deepinfra_native` (pure); this module only moves bytes.
"""

from __future__ import annotations

import json
import time
from typing import Any

from modelport.domain.dialects import DEEPINFRA, Shape
from modelport.gateway.deepinfra_native import (
    BadAnswer,
    NativeRequest,
    TokenStream,
    error_detail,
    to_deepinfra,
)
from modelport.gateway.downstream import ClientSide, Headers
from modelport.gateway.responses import JSON_TYPE
from modelport.gateway.upstream import UpstreamConnection

PREFIX = DEEPINFRA.base(Shape.DEEPINFRA_NATIVE) + "/"  # every native request's path starts so
_REFRAMED = frozenset({b"content-length", b"content-type"})
_SSE_TYPE = (b"content-type", b"text/event-stream")


def _headers(headers: Headers, content_type: tuple[bytes, bytes], body: bytes | None) -> Headers:
    kept = [(name, value) for name, value in headers if name not in _REFRAMED]
    kept.append(content_type)
    if body is not None:
        kept.append((b"content-length", str(len(body)).encode("ascii")))
    return kept


class NativeClient:
    """`ClientSide` that answers in DeepInfra's shapes (see the module docstring)."""

    def __init__(self, client: ClientSide, request_id: str) -> None:
        self._client = client
        self._request: NativeRequest | None = None
        self._request_id = request_id
        self._started = 0.0
        self._stream: TokenStream | None = None
        self._held: tuple[int, Headers] | None = None  # a response kept whole to translate it
        self._parts: list[bytes] = []

    def expect(self, request: NativeRequest) -> None:
        """What the replica is asked: its 2xx answer is translated for it from now on."""
        self._request = request
        self._started = time.perf_counter()

    # --- ClientSide ----------------------------------------------------------------------------
    async def read_body(self, declared: int | None, limit: int) -> bytes:
        return await self._client.read_body(declared, limit)

    def watch(self, upstream: UpstreamConnection | None) -> None:
        self._client.watch(upstream)

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        status, body, content_type = self._translate(status, body)
        await self._client.respond(status, _headers(headers, content_type, body), body)

    async def start(self, status: int, headers: Headers) -> None:
        request = self._request
        if request is not None and request.stream and 200 <= status < 300:
            self._stream = TokenStream(self._request_id)
            await self._client.start(status, _headers(headers, _SSE_TYPE, None))
            return
        self._held = (status, headers)  # an error or a whole answer in pieces: translate at end
        self._parts = []

    async def send(self, chunk: bytes) -> None:
        if self._stream is not None:
            events = self._stream.feed(chunk)
            if events:
                await self._client.send(events)
        elif self._held is not None:
            self._parts.append(chunk)
        else:
            await self._client.send(chunk)

    async def end(self) -> None:
        if self._stream is not None:
            tail = self._stream.finish(self._runtime_ms())
            if tail:
                await self._client.send(tail)
            await self._client.end()
        elif self._held is not None:
            status, headers = self._held
            self._held = None
            await self.respond(status, headers, b"".join(self._parts))
        else:
            await self._client.end()

    # --- translation ---------------------------------------------------------------------------
    def _translate(self, status: int, body: bytes) -> tuple[int, bytes, tuple[bytes, bytes]]:
        if status >= 400:
            detail = error_detail(body)
            return status, body if detail is None else _json(detail), JSON_TYPE
        request = self._request
        if request is None or not 200 <= status < 300:
            return status, body, JSON_TYPE
        if request.stream:  # a stream the replica sent whole (it had a Content-Length)
            stream = TokenStream(self._request_id)
            return status, stream.feed(body) + stream.finish(self._runtime_ms()), _SSE_TYPE
        try:
            answer = to_deepinfra(request, body, self._request_id, self._runtime_ms())
        except BadAnswer as exc:
            return 502, _json({"detail": str(exc)}), JSON_TYPE
        return status, _json(answer), JSON_TYPE

    def _runtime_ms(self) -> int:
        return round((time.perf_counter() - self._started) * 1000)


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()
