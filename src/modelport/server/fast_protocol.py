"""The gateway fast path: uvicorn's httptools protocol, with gateway requests taken off the ASGI
cycle (`MODELPORT_GATEWAY_FAST_PATH`, on by default).

When a request head is complete and its path is a gateway path (`dispatch.is_gateway_path`), the
request is served by `Gateway.handle` on a `FastExchange` (gateway/fast_exchange.py) that reads
the body from this protocol's parser callbacks and writes the response straight to the
transport. Everything else (the management API, dialect management apps, upgrades, HTTP edge
cases) goes to uvicorn unchanged, through the ASGI dispatcher.

This subclass relies on uvicorn internals (`cycle`, `pipeline`, `flow`, `_start_asgi_task`,
`on_response_complete`, the parser callbacks); pyproject pins the uvicorn versions it was checked
against.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast
from urllib.parse import unquote

import httptools
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modelport.gateway.app import Gateway
from modelport.gateway.downstream import Headers
from modelport.gateway.fast_exchange import FastExchange
from modelport.server.dispatch import is_gateway_path


class GatewayFastProtocol(HttpToolsProtocol):
    """One client connection; `gateway` is set on the subclass `fast_path_protocol` makes."""

    gateway: Gateway

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handle = self.gateway.handle
        self._limit = self.gateway.max_body_bytes
        self._exchanges: set[FastExchange] = set()  # started or queued, not yet answered

    # --- parser callbacks ----------------------------------------------------------------
    def on_headers_complete(self) -> None:
        parser = self.parser
        if self.limit_concurrency is None and not parser.should_upgrade():
            url = httptools.parse_url(self.url)
            raw_path: bytes = url.path
            path = raw_path.decode("ascii")
            if "%" in path:
                path = unquote(path)
            if is_gateway_path(self.root_path + path):
                self._start_exchange(path, raw_path, url.query or b"")
                return
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        cycle: object = self.cycle
        if isinstance(cycle, FastExchange):
            cycle.on_body(body)
        else:
            super().on_body(body)

    def on_message_complete(self) -> None:
        cycle: object = self.cycle
        if isinstance(cycle, FastExchange):
            cycle.on_body_end()
        else:
            super().on_message_complete()

    # --- connection events ----------------------------------------------------------------
    def connection_lost(self, exc: Exception | None) -> None:
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
    def _start_exchange(self, path: str, raw_path: bytes, query: bytes) -> None:
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


def fast_path_protocol(gateway: Gateway) -> type[asyncio.Protocol]:
    """The protocol class to give uvicorn (`Config(http=...)`) for this gateway."""

    class Bound(GatewayFastProtocol):
        pass

    Bound.gateway = gateway
    return Bound
