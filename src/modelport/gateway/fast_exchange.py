"""One gateway request served straight on the client's transport: no ASGI scope, task or messages.

The server's HTTP protocol (`server/fast_protocol.py`) makes a `FastExchange` when the head of a
request for a gateway path is complete, feeds it the body from its parser callbacks and tells it
when the client is gone; `run_asgi` runs `Gateway.handle` with the exchange as its `ClientSide`.
The state is small and moves one way:

    body arriving ─► body complete (or too large) ─► head written ─► body written ─► complete
          any state ─► disconnected (the client left: the upstream exchange is dropped, 499)

The response goes out as bytes on the transport, as uvicorn would frame it: its Date header,
`content-length` passed through or chunked re-encoding, `connection: close` when the connection
ends after it, no body for HEAD / 204 / 304. A small answer is one `transport.write`. Writes wait
while the client's transport is above its high-water mark; meanwhile the upstream connection's
own buffer fills and stops reading the replica (flow control end to end).

The exchange stands in for uvicorn's RequestResponseCycle where the protocol's shared code
touches one (`response_complete`, `keep_alive`, `run_asgi`), so uvicorn's pipelining queues and
starts it like its own cycles: a second request on a connection waits for the first's response.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from modelport.gateway.asgi import Scope
from modelport.gateway.downstream import ClientSide, Headers
from modelport.gateway.incoming import BodyTooLarge, ClientGone
from modelport.gateway.proxy import UpstreamBroken
from modelport.gateway.upstream import ClientLeft, UpstreamConnection
from modelport.gateway.waiter import Waiter

log = logging.getLogger("modelport.gateway.fast")

Handler = Callable[[Scope, ClientSide], Awaitable[None]]


def _status_line(code: int) -> bytes:
    try:
        phrase = http.HTTPStatus(code).phrase.encode()
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (code, phrase)


_STATUS_LINES = {code: _status_line(code) for code in range(100, 600)}
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_NO_BODY = frozenset({204, 304})


class WriteFlow(Protocol):
    @property
    def write_paused(self) -> bool: ...

    async def drain(self) -> None: ...

    def resume_reading(self) -> None: ...


class Connection(Protocol):
    """What an exchange needs from the server's per-connection HTTP protocol."""

    @property
    def transport(self) -> asyncio.Transport: ...

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def flow(self) -> WriteFlow: ...

    def default_headers(self) -> Headers:
        """Headers on every response (Date)."""
        ...

    def exchange_done(self, exchange: FastExchange) -> None:
        """The response is complete: start a pipelined request or wait for the next one."""
        ...


class FastExchange:
    """`ClientSide` of one request on a raw transport; see the module docstring."""

    __slots__ = (
        "_body_done", "_chunked", "_conn", "_expect_100", "_handler", "_head", "_limit",
        "_overflow", "_parts", "_size", "_started", "_upstream", "_waiter", "disconnected",
        "keep_alive", "response_complete", "scope",
    )  # fmt: skip

    def __init__(
        self,
        conn: Connection,
        handler: Handler,
        scope: Scope,
        keep_alive: bool,
        expect_100: bool,
        limit: int,
    ) -> None:
        self.scope = scope
        self.keep_alive = keep_alive  # uvicorn's shutdown() clears it: close after the answer
        self.response_complete = False
        self.disconnected = False
        self._conn = conn
        self._handler = handler
        self._head = scope["method"] == "HEAD"
        self._expect_100 = expect_100
        self._limit = limit
        self._parts: list[bytes] = []
        self._size = 0
        self._body_done = False
        self._overflow = False  # more body than `limit`: no longer kept, answered with 413
        self._started = False  # the response head went out
        self._chunked = False
        self._upstream: UpstreamConnection | None = None
        self._waiter = Waiter(conn.loop)

    # --- the parser's side (the server's protocol) -------------------------------------
    def on_body(self, data: bytes) -> None:
        if self.response_complete or self._overflow:
            return  # answered already (413, 404 ...): the rest of the body is discarded
        self._size += len(data)
        if self._size > self._limit:
            self._overflow = True
            self._parts = []
        else:
            self._parts.append(data)
        self._waiter.wake()

    def on_body_end(self) -> None:
        self._body_done = True
        self._waiter.wake()

    def lost(self) -> None:
        """The client's connection is gone."""
        self.disconnected = True
        upstream = self._upstream
        if upstream is not None:
            upstream.client_gone()
        self._waiter.wake()

    # --- run by uvicorn's task machinery ------------------------------------------------
    async def run_asgi(self, app: object = None) -> None:
        """Serve the request (named as uvicorn's cycles, so its pipelining can start it)."""
        try:
            await self._handler(self.scope, self)
        except UpstreamBroken:
            self._conn.transport.close()  # mid-response: cutting it is all that is left to say
        except asyncio.CancelledError:
            self._conn.transport.close()
            raise
        except Exception:
            log.exception("gateway request failed")
            if self._started or self.disconnected:
                self._conn.transport.close()
            else:
                self.keep_alive = False
                body = b"Internal Server Error"
                headers = [(b"content-type", b"text/plain; charset=utf-8")]
                headers.append((b"content-length", b"%d" % len(body)))
                await self.respond(500, headers, body)
        else:
            if not self.response_complete and not self.disconnected:
                log.error("gateway request ended without a complete response")
                self._conn.transport.close()

    # --- ClientSide --------------------------------------------------------------------
    async def read_body(self, declared: int | None, limit: int) -> bytes:
        if declared is not None and declared > limit:
            raise BodyTooLarge
        while True:
            if self._overflow or self._size > limit:
                raise BodyTooLarge
            if self._body_done:
                parts = self._parts
                return parts[0] if len(parts) == 1 else b"".join(parts)
            if self.disconnected:
                raise ClientGone
            if self._expect_100:
                self._expect_100 = False
                self._conn.transport.write(_CONTINUE)
            self._conn.flow.resume_reading()
            await self._waiter.wait()

    def watch(self, upstream: UpstreamConnection | None) -> None:
        if upstream is not None and self.disconnected:
            raise ClientLeft
        self._upstream = upstream

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        if not await self._writable():
            return
        head = self._head_bytes(status, headers)
        if self._head:
            data = head
        elif self._chunked:
            data = head + (b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n")
        else:
            data = head + body
        self._conn.transport.write(data)
        self._complete()

    async def start(self, status: int, headers: Headers) -> None:
        if await self._writable():
            self._conn.transport.write(self._head_bytes(status, headers))

    async def send(self, chunk: bytes) -> None:
        if not chunk or self._head or not await self._writable():
            return
        self._conn.transport.write(
            b"%x\r\n%b\r\n" % (len(chunk), chunk) if self._chunked else chunk
        )

    async def end(self) -> None:
        if not await self._writable():
            return
        if self._chunked:
            self._conn.transport.write(b"0\r\n\r\n")
        self._complete()

    # --- internals -----------------------------------------------------------------------
    async def _writable(self) -> bool:
        """False when the client is gone; waits while its transport is above high water."""
        flow = self._conn.flow
        if flow.write_paused and not self.disconnected:
            await flow.drain()
        return not self.disconnected

    def _head_bytes(self, status: int, headers: Headers) -> bytes:
        self._started = True
        parts = [_STATUS_LINES.get(status) or _status_line(status)]
        has_length = False
        for name, value in (*self._conn.default_headers(), *headers):
            if name == b"content-length":
                has_length = True
            parts += (name, b": ", value, b"\r\n")
        if not self.keep_alive:
            parts.append(b"connection: close\r\n")
        if not has_length and not self._head and status not in _NO_BODY:
            self._chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

    def _complete(self) -> None:
        self.response_complete = True
        if not self.keep_alive:
            self._conn.transport.close()
        self._conn.exchange_done(self)
