"""The gateway fast path: uvicorn's httptools protocol, with gateway requests taken off the ASGI
cycle (`MODELPORT_GATEWAY_FAST_PATH`, on by default).

When a request head is complete and its path is a gateway path (`families.classify`), the
request is served by `Gateway.handle` on a `FastExchange` (gateway/fast_exchange.py) that reads
the body from this protocol's parser callbacks and writes the response straight to the
transport. Everything else (the management API, dialect management apps, upgrades, HTTP edge
cases) goes to uvicorn unchanged, through the ASGI dispatcher.

The same protocol enforces the edge limits of server/edge.py on every connection (gateway and
API paths, fast path on or off): read timeouts, the header size and count limits and the
connection cap. Per request that is a few attribute updates; timers are armed only when a head
or body does not arrive in one read.

This subclass relies on uvicorn internals (`cycle`, `pipeline`, `flow`, `_start_asgi_task`,
`on_response_complete`, `timeout_keep_alive_task`, the parser callbacks); pyproject pins the
uvicorn versions it was checked against.
"""

from __future__ import annotations

import asyncio
import enum
from typing import Any, ClassVar, cast
from urllib.parse import unquote

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modelport.gateway.app import Gateway
from modelport.gateway.downstream import Headers
from modelport.gateway.families import FAMILY_KEY, Family, classify
from modelport.gateway.fast_exchange import FastExchange
from modelport.server.edge import EdgeLimits, refusal

_LINGER_SECONDS = 2.0  # after a 431, how long the rest of the client's head is read and dropped


class _Phase(enum.Enum):
    WAIT = "wait"  # between requests: no head begun (idle, or a response still going out)
    HEAD = "head"  # a request head has begun and is not complete
    BODY = "body"  # the head is complete, its body is arriving


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; `data_received` answers the refusal."""


class GatewayFastProtocol(HttpToolsProtocol):
    """One client connection; the class attributes are set on the subclass
    `fast_path_protocol` makes, one per server."""

    gateway: ClassVar[Gateway]
    edge: ClassVar[EdgeLimits]
    fast_path: ClassVar[bool]
    # Connections with no request in progress and no complete head, longest waiting first:
    # the ones a new connection over the cap may replace, in this order: a head begun and
    # still incomplete (`partial`, a slow-header client's signature); idle keep-alive after a
    # response (`idle`: its client reconnects transparently); a connection that has sent
    # nothing yet (`fresh`, with when it came), only once it has been silent for
    # `fresh_grace`: a client sends its request right after connecting, and in a burst of
    # reconnects (a flood's clients cut at once by the header deadline) every newcomer is
    # fresh, so cutting the oldest would cut real clients before their request is read.
    partial: ClassVar[dict[GatewayFastProtocol, None]]
    idle: ClassVar[dict[GatewayFastProtocol, None]]
    fresh: ClassVar[dict[GatewayFastProtocol, float]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handle = self.gateway.handle
        self._limit = self.gateway.max_body_bytes
        self._exchanges: set[FastExchange] = set()  # started or queued, not yet answered
        self._phase = _Phase.WAIT
        self._timer: asyncio.TimerHandle | None = None  # header or body read deadline
        self._chunk = 0  # length of the data being parsed
        self._head_first = 0  # length of the data the current head began in (an upper bound)
        self._head_rest = 0  # bytes received for the current head after that data
        self._refusal: tuple[int, str] | None = None
        self._lingering = False  # refused, answered, dropping input until closed

    # --- reading ---------------------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        # uvicorn's, plus the refusals and read deadlines of server/edge.py.
        if self._lingering:
            return  # refused: the rest of what the client sends is dropped
        self._unset_keepalive_if_required()
        self._chunk = len(data)
        if self._phase is _Phase.HEAD:
            self._head_rest += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(*self._refusal)
                return
            msg = "Invalid HTTP request received."
            self.logger.warning(msg)
            # In the envelope of the API the path belongs to (uvicorn's own 400 is plain text).
            self._refuse(400, "invalid HTTP request (malformed request line or header)")
            return
        if self._timer is None:
            phase = self._phase
            if phase is _Phase.HEAD:
                if self._head_rest > self.edge.max_header_bytes:  # every byte of it is head
                    self._refuse(431, self._head_too_large())
                    return
                self._arm(self.edge.header_timeout)
            elif phase is _Phase.BODY:
                self._arm(self.edge.body_timeout)
            elif self.timeout_keep_alive_task is None and self._idle():
                self._arm(self.edge.header_timeout)  # stray bytes, no head: still a deadline
        elif self._phase is _Phase.HEAD and self._head_rest > self.edge.max_header_bytes:
            self._refuse(431, self._head_too_large())
        if self._phase is _Phase.HEAD and len(self.connections) > self.edge.max_connections:
            self._evict_one()  # over the cap (fresh ones admitted): a slow head now shows

    # --- parser callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self.fresh.pop(self, None) is not None or self.idle.pop(self, False) is None:
            self.partial[self] = None  # it was waiting: now a head is arriving
        self._phase = _Phase.HEAD
        self._head_first = self._chunk
        self._head_rest = 0

    def on_headers_complete(self) -> None:
        self._disarm()
        self._phase = _Phase.BODY
        self._unlist()
        edge = self.edge
        if len(self.headers) > edge.max_headers:
            self._refusal = (431, f"more than {edge.max_headers} header fields")
            raise _Refused
        if self._head_first + self._head_rest > edge.max_header_bytes:  # may be: count them
            size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
            if size > edge.max_header_bytes:
                self._refusal = (431, self._head_too_large())
                raise _Refused
        parser = self.parser
        if self.fast_path and not parser.should_upgrade():
            url = httptools.parse_url(self.url)
            raw_path: bytes = url.path
            path = raw_path.decode("ascii")
            if "%" in path:
                path = unquote(path)
            family = classify(self.root_path + path)
            if family is not None:
                self._start_exchange(family, path, raw_path, url.query or b"")
                return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        cycle: object = self.cycle
        if isinstance(cycle, FastExchange):
            cycle.on_body(body)
        else:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        self._phase = _Phase.WAIT
        cycle: object = self.cycle
        if isinstance(cycle, FastExchange):
            cycle.on_body_end()
        else:
            super().on_message_complete()

    # --- connection events ----------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        edge = self.edge
        count = len(self.connections)
        super().connection_made(transport)
        # When nothing may be cut (every other connection busy, or fresh within its grace),
        # the newcomer is admitted above the cap, up to half as many again (the descriptors
        # allow it); the first slow head to show, or silent one to outlive its grace, goes.
        ceiling = edge.max_connections + edge.max_connections // 2
        if count >= edge.max_connections and not self._evict_one() and count >= ceiling:
            self._refuse(503, "too many connections; try again shortly")
            return
        self.fresh[self] = self.loop.time()
        self._arm(edge.header_timeout)  # a client that connects must send a head

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._idle() and not self.transport.is_closing():
            self.idle[self] = None  # idle keep-alive, or the next head still incomplete

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unlist()
        for exchange in self._exchanges:
            exchange.lost()
        self._exchanges.clear()
        cycle: object = self.cycle
        if isinstance(cycle, FastExchange):
            self.cycle = None  # type: ignore[assignment]  # uvicorn's cycle bookkeeping skips it
        super().connection_lost(exc)

    # --- what a FastExchange needs (fast_exchange.Connection) ----------------------------
    def default_headers(self) -> Headers:
        return self.server_state.default_headers

    def exchange_done(self, exchange: FastExchange) -> None:
        self._exchanges.discard(exchange)
        self.on_response_complete()

    # --- internals -------------------------------------------------------------------------
    def _idle(self) -> bool:
        """No request of this connection is being answered."""
        cycle = self.cycle
        return cycle is None or cycle.response_complete

    def _arm(self, seconds: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        body = self._phase is _Phase.BODY
        if self.flow.read_paused:
            # We stopped reading (a pipelined request waits, or the app has not taken the
            # body yet): the client is not late.
            self._arm(self.edge.body_timeout if body else self.edge.header_timeout)
        elif body:
            self.transport.close()  # the request is being served: it sees the client leave
        else:
            self._refuse(408, f"no complete request head within {self.edge.header_timeout:g}s")

    def _evict_one(self) -> bool:
        """Close the connection whose head has been arriving longest, else the longest idle
        keep-alive one, else the longest silent fresh one past its grace; False if none."""
        victim = next(iter(self.partial), None) or next(iter(self.idle), None)
        if victim is None:
            oldest = next(iter(self.fresh.items()), None)
            if oldest is None or self.loop.time() - oldest[1] < self.edge.fresh_grace:
                return False
            victim = oldest[0]
        victim._unlist()
        victim._disarm()
        victim.transport.close()
        return True

    def _unlist(self) -> None:
        """No longer a candidate for eviction (a complete head, a refusal, gone)."""
        self.fresh.pop(self, None)
        self.idle.pop(self, None)
        self.partial.pop(self, None)

    def _refuse(self, status: int, message: str) -> None:
        """Answer `status` (unless a response is going out) and close the connection."""
        self._disarm()
        self._unlist()
        if not self._idle():
            self.transport.close()
            return
        self.transport.write(refusal(self._path(), status, message))
        if status == 431 and self.transport.can_write_eof():
            # The client may still be sending its head: closing now would reset the
            # connection and could destroy the answer before it reads it. Read and drop
            # what comes for a moment, then close (a "lingering close").
            self.transport.write_eof()
            self._lingering = True
            self.flow.resume_reading()
            self._timer = self.loop.call_later(_LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _path(self) -> str | None:
        """The path of the request being read, as far as it is known."""
        try:
            path: str = httptools.parse_url(self.url).path.decode("ascii")
        except (AttributeError, httptools.HttpParserError, UnicodeDecodeError):
            return None
        return unquote(path) if "%" in path else path

    def _head_too_large(self) -> str:
        return f"request head larger than {self.edge.max_header_bytes} bytes"

    def _start_exchange(self, family: Family, path: str, raw_path: bytes, query: bytes) -> None:
        parser = self.parser
        http_version = parser.get_http_version()
        root = self.root_path
        scope = {
            "method": parser.get_method().decode("ascii"),
            "path": root + path,
            "raw_path": root.encode("ascii") + raw_path,
            "query_string": query,
            "headers": self.headers,
            "client": self.client,
            "scheme": self.scheme,
            "http_version": http_version,
            FAMILY_KEY: family,
        }
        keep_alive = http_version != "1.0" and parser.should_keep_alive()
        exchange = FastExchange(
            self, self._handle, scope, keep_alive, self.expect_100_continue, self._limit
        )
        self._exchanges.add(exchange)
        # The exchange has what uvicorn's code reads of a cycle (response_complete, keep_alive,
        # run_asgi), so its pipelining queues and starts it like one of its own.
        existing = self.cycle
        self.cycle = cast(Any, exchange)
        if existing is None or existing.response_complete:
            self._start_asgi_task(cast(Any, exchange), cast(Any, None))
        else:
            self.flow.pause_reading()  # as uvicorn does: the next request waits its turn
            self.pipeline.appendleft((cast(Any, exchange), cast(Any, None)))


def fast_path_protocol(
    gateway: Gateway, edge: EdgeLimits | None = None, fast_path: bool = True
) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (`Config(http=...)`) for this gateway: the edge
    limits always, gateway requests off the ASGI cycle when `fast_path`."""

    class Bound(GatewayFastProtocol):
        pass

    Bound.gateway = gateway
    Bound.edge = edge or EdgeLimits()
    Bound.fast_path = fast_path
    Bound.partial = {}
    Bound.idle = {}
    Bound.fresh = {}
    return Bound
