"""One keep-alive HTTP/1.1 connection to a replica: an asyncio Protocol and httptools' parser.

The gateway's upstream client, built for the hot path: the request goes out in one
`transport.write`, the response is parsed in C as bytes arrive, and a small response is whole by
the time the waiting coroutine wakes (one future per request, no per-request task or timer).
Larger bodies and streams (SSE) are handed over chunk by chunk as they arrive, with
`pause_reading()` above a high-water mark so a slow client slows the replica instead of
filling memory.

Framing is the parser's: Content-Length, chunked, and close-delimited bodies; 1xx interim
responses are skipped; HEAD answers end with their headers (and the connection is then closed,
since the parser cannot be told a body is absent); 204 / 304 have no body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import httptools

from modelport.gateway.asgi import Receive  # the ASGI client's receive()
from modelport.gateway.waiter import Waiter

RawHeaders = list[tuple[bytes, bytes]]

HIGH_WATER = 256 * 1024  # buffered response bytes above which we stop reading the socket
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class UpstreamClosed(Exception):
    """The connection ended before the response did.

    `got_bytes` tells whether any byte of a response had arrived: a reused connection that
    closes before that is a stale keep-alive connection, safe to retry on a fresh one.
    """

    def __init__(self, got_bytes: bool) -> None:
        super().__init__("the upstream closed the connection before the response ended")
        self.got_bytes = got_bytes


class ClientLeft(Exception):
    """The client disconnected before its response ended; the exchange was abandoned."""


class UpstreamTimeout(TimeoutError):
    """The request outlived its deadline."""


class UpstreamProtocolError(Exception):
    """The upstream's bytes are not a valid HTTP/1.1 response."""


def request_head(
    method: str,
    path_qs: str,
    host: str,
    headers: list[tuple[str, str]],
    body_length: int,
    authorization: str | None = None,
) -> bytes:
    """The request line and headers, ready for the wire (names and values are latin-1).

    `authorization` is the replica's own key header (the gateway's, never the client's)."""
    parts = [method, " ", path_qs, " HTTP/1.1\r\nHost: ", host, "\r\n"]
    if authorization is not None:
        parts += ("Authorization: ", authorization, "\r\n")
    for name, value in headers:
        parts += (name, ": ", value, "\r\n")
    if body_length or method in _BODY_METHODS:
        parts += ("Content-Length: ", str(body_length), "\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("latin-1")


class UpstreamConnection(asyncio.Protocol):
    """A pooled connection; serves one request at a time (no pipelining)."""

    def __init__(self, key: str, host: str, on_lost: Callable[[UpstreamConnection], None]) -> None:
        self.key = key  # the pool's key: the replica URL
        self.host = host  # Host header value, "host:port"
        self.reused = False  # served an earlier request (a failure before any byte may be stale)
        self.idle_since = 0.0
        self.started = 0.0  # loop time the current exchange began
        self.deadline = 0.0  # loop time after which the pool's sweeper times the request out
        self._watcher: asyncio.Task[None] | None = None
        self._loop = asyncio.get_running_loop()  # asked once: on 3.11 each ask is a getpid()
        self._on_lost = on_lost
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter = Waiter(self._loop)  # the proxy's coroutine, woken by the callbacks
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: RawHeaders = []
        self.content_length: int | None = None
        self.head_done = False
        self.complete = False
        self._keep_alive = False
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._paused = False
        self._error: BaseException | None = None
        self._got_bytes = False
        self._head_only = False
        self._active = False  # a request went out and its answer is expected
        self._interim = False
        self._eof_delimited = True
        self.receive: Receive | None = None  # set by the proxy: watch_client() listens on it
        self.client_left = False

    # --- used by the proxy -------------------------------------------------------------
    def send(self, head: bytes, body: bytes, head_only: bool) -> None:
        transport = self._transport
        if transport is None or self.closed or transport.is_closing():
            raise UpstreamClosed(got_bytes=False)
        self._head_only = head_only
        self._active = True
        if body and len(body) <= 65536:
            transport.write(head + body)
        else:
            transport.write(head)
            if body:
                transport.write(body)

    async def read_head(self) -> None:
        """Wait for the status line and headers (`status`, `headers`, `content_length`)."""
        while not self.head_done:
            if self._error is not None:
                raise self._error
            await self._waiter.wait()

    async def read_body(self) -> bytes:
        """The rest of the body, whole (for bodies known to be small)."""
        while not self.complete:
            if self._error is not None:
                raise self._error
            await self._waiter.wait()
        return self._take()

    async def next_chunk(self) -> bytes:
        """The body bytes that arrived since the last call; b"" once the body has ended."""
        while True:
            if self._chunks:
                return self._take()
            if self.complete:
                return b""
            if self._error is not None:
                raise self._error
            await self._waiter.wait()

    def watch_client(self) -> None:
        """From now on, fail the exchange with ClientLeft as soon as the client disconnects.

        Costs a task, so it runs only for streams and for requests still unanswered after a
        moment (the pool's sweeper starts it): quick answers never pay for it.
        """
        receive = self.receive
        if self._watcher is None and receive is not None and not self.complete:
            self._watcher = self._loop.create_task(self._watch(receive))

    def stop_watching(self) -> bool:
        """Stop listening for the client; True when it had left."""
        watcher, self._watcher = self._watcher, None
        if watcher is not None and not watcher.done():
            watcher.cancel()
        return self.client_left

    def client_gone(self) -> None:
        """The client left: fail the exchange with ClientLeft and drop the connection."""
        self.client_left = True
        self.fail(ClientLeft())

    @property
    def watched(self) -> bool:
        return self._watcher is not None

    def reusable(self) -> bool:
        return self.complete and self._keep_alive and not self.closed and self._error is None

    def recycle(self, now: float) -> None:
        """Ready for the next request (the pool checked `reusable()` and stopped watching)."""
        self._reset()
        self.reused = True
        self.idle_since = now

    def fail(self, error: BaseException) -> None:
        """End the exchange with `error` (timeout, client gone) and drop the connection."""
        if self._error is None and not self.complete:
            self._error = error
            self._waiter.wake()
        self.close()

    def close(self) -> None:
        if self._transport is not None and not self.closed:
            self._transport.abort()  # never linger: the exchange is over or abandoned
        self.closed = True

    # --- asyncio.Protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, hence the cast.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.complete or not self._active:
            # Bytes nobody asked for: after the answer (a HEAD's unwanted body, a misbehaving
            # engine) or on an idle pooled connection (some servers send "408" before closing
            # one). Its framing can no longer be trusted, and it must never answer a request.
            self._keep_alive = False
            if not self._active:
                self.close()
            return
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade) as exc:
            self.fail(UpstreamProtocolError(f"invalid response from the upstream: {exc}"))

    def eof_received(self) -> bool | None:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.head_done and not self.complete and self._eof_delimited and self._error is None:
            self.complete = True  # a body without length or chunking ends with the connection
        elif not self.complete:
            self._error = self._error or UpstreamClosed(self._got_bytes)
        self._waiter.wake()
        self._on_lost(self)

    # --- httptools callbacks -----------------------------------------------------------
    # A second message in the bytes that ended the first one (a stray "408", say) reaches the
    # callbacks with `complete` already set: it is ignored, and the connection retired.
    def on_message_begin(self) -> None:
        if self.complete:
            self._keep_alive = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete:
            return
        self.headers.append((name, value))
        if len(name) == 14 and name.lower() == b"content-length":
            self.content_length = int(value) if value.isdigit() else None
            self._eof_delimited = False
        elif len(name) == 17 and name.lower() == b"transfer-encoding":
            self._eof_delimited = False

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        status = self._parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # interim (100 Continue, 103 Early Hints)
            self._interim = True
            self.headers = []
            self.content_length = None
            self._eof_delimited = True
            return
        self.status = status
        self.head_done = True
        if self._head_only or status in (204, 304):
            self._eof_delimited = False
        if self._head_only:
            self.complete = True  # a HEAD answer has no body, whatever its headers say
        self._waiter.wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._paused and self._transport is not None:
            self._paused = True
            self._transport.pause_reading()
        self._waiter.wake()

    def on_message_complete(self) -> None:
        if self.complete:
            return
        if self._interim:
            self._interim = False
            return
        self.complete = True
        self._keep_alive = self._parser.should_keep_alive()
        self._waiter.wake()

    # --- internals -----------------------------------------------------------------------
    async def _watch(self, receive: Receive) -> None:
        try:
            while (await receive())["type"] != "http.disconnect":
                pass
        except Exception:  # the ASGI server's receive failed: nothing left to watch
            return
        self.client_gone()

    def _take(self) -> bytes:
        chunks = self._chunks
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._chunks = []
        self._buffered = 0
        if self._paused and self._transport is not None and not self.closed:
            self._paused = False
            self._transport.resume_reading()
        return data
