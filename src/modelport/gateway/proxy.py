"""The hot path: forward one request to a READY replica and stream its answer back.

Requests go out on pooled keep-alive connections of our own lean client (gateway/upstream.py:
an asyncio Protocol with httptools' parser per connection). Bytes pass through untouched (no
decompression, no re-framing): small bodies of known length go out in one ASGI message,
everything else (SSE above all) is relayed chunk by chunk as it arrives, never buffered whole.

A client that leaves is noticed while its response streams, and for any request still unanswered
after a second (gateway/upstream_pool.py): the upstream connection is then dropped, so the engine
can stop generating for nobody, and the request counts as 499.

Retries happen only while nothing has reached the client: a refused connection (the replica is
gone: eject it for a few seconds) moves on to the next replica; a reused keep-alive connection
that the replica had closed (no response byte came back) gets one fresh try on the same replica.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from modelport.gateway.balancing import Balancer
from modelport.gateway.downstream import ClientSide
from modelport.gateway.headers import response_headers
from modelport.gateway.metering_tap import UsageTap
from modelport.gateway.metrics import CLIENT_CLOSED, GatewayMetrics
from modelport.gateway.responses import request_id_header, respond_error
from modelport.gateway.routes import EndpointRoute, ReplicaTarget
from modelport.gateway.upstream import (
    ClientLeft,
    UpstreamClosed,
    UpstreamConnection,
    UpstreamProtocolError,
    request_head,
)
from modelport.gateway.upstream_pool import UpstreamPool

log = logging.getLogger("modelport.gateway.proxy")

_WHOLE_BODY_LIMIT = 256 * 1024  # bodies of known length up to this go out in one message


@dataclass(slots=True)
class ProxyRequest:
    method: str
    path_qs: str  # already percent-encoded path plus "?query"
    body: bytes
    headers: list[tuple[str, str]]  # filtered, with X-Request-Id and X-Forwarded-*
    request_id: str
    tap: UsageTap | None = None  # reads the engine's token usage from a 2xx answer (metering)


class _NothingSent(Exception):
    """The attempt failed before any byte reached the client: another replica may serve it."""

    def __init__(self, stale_connection: bool, *, connected: bool = True) -> None:
        super().__init__("upstream failed before the response")
        self.stale_connection = stale_connection
        self.connected = connected  # False: the replica refused the connection (it is down)


class UpstreamBroken(Exception):
    """The upstream failed mid-response; raising makes the server cut the client connection."""


class Proxy:
    def __init__(self, balancer: Balancer, metrics: GatewayMetrics, upstream_timeout: float):
        self._balancer = balancer
        self._metrics = metrics
        self._timeout = upstream_timeout
        self._pool: UpstreamPool | None = None

    async def startup(self) -> None:
        if self._pool is None:
            self._pool = UpstreamPool(self._timeout)
            self._pool.start()

    async def shutdown(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def forward(self, route: EndpointRoute, request: ProxyRequest, client: ClientSide) -> int:
        """Serve the request from one of the route's replicas; returns the status sent."""
        balancer = self._balancer
        tried: list[int] = []
        fresh_retry_left = True
        hung_up = False  # a replica took the request and closed without an answer
        target = balancer.pick(route.replicas)
        while target is not None:
            try:
                return await self._attempt(target, request, client)
            except _NothingSent as failure:
                self._metrics.retried(route.name)
                hung_up = hung_up or (failure.connected and not failure.stale_connection)
                if failure.stale_connection and fresh_retry_left:
                    fresh_retry_left = False
                    continue  # same replica, on a new connection
                tried.append(target.replica_id)
                target = balancer.pick(route.replicas, exclude=tried)
            except TimeoutError:
                await respond_error(
                    client, 504, "the endpoint did not answer in time", "timeout",
                    "upstream_timeout", request.request_id,
                )  # fmt: skip
                return 504
            except UpstreamProtocolError:
                log.warning("replica %s sent an invalid HTTP response", target.replica_id)
                await respond_error(
                    client, 502, "the endpoint sent an invalid response", "bad_gateway",
                    "upstream_protocol_error", request.request_id,
                )  # fmt: skip
                return 502
        if hung_up:
            # The replicas are up but closed without answering: the endpoint failed, not
            # "nothing ready" (a client told to retry shortly would meet the same failure).
            await respond_error(
                client, 502, "the endpoint closed the connection without answering",
                "bad_gateway", "upstream_closed", request.request_id,
            )  # fmt: skip
            return 502
        await respond_error(
            client, 503, f"endpoint '{route.name}' has no ready replica; retry shortly",
            "service_unavailable", "no_ready_replica", request.request_id,
            [(b"retry-after", b"1")],
        )  # fmt: skip
        return 503

    async def _attempt(
        self, target: ReplicaTarget, request: ProxyRequest, client: ClientSide
    ) -> int:
        pool = self._pool
        assert pool is not None, "Proxy.startup() was not awaited"
        balancer = self._balancer
        balancer.acquire(target.replica_id)
        try:
            try:
                upstream = await pool.acquire(target.url)
            except OSError as exc:  # refused, unreachable, connect timeout
                balancer.eject(target.replica_id)
                raise _NothingSent(stale_connection=False, connected=False) from exc
            try:
                client.watch(upstream)  # its leaving ends the exchange (ClientLeft)
                body = request.body
                head = request_head(
                    request.method, request.path_qs, upstream.host, request.headers, len(body),
                    target.authorization,
                )  # fmt: skip
                try:
                    upstream.send(head, body, request.method == "HEAD")
                    await upstream.read_head()
                except UpstreamClosed as exc:
                    raise _NothingSent(upstream.reused and not exc.got_bytes) from exc
                return await self._relay(upstream, request, client)
            except ClientLeft:
                return CLIENT_CLOSED  # nobody to answer; the upstream connection is dropped
            finally:
                client.watch(None)
                pool.release(upstream)
        finally:
            balancer.release(target.replica_id)

    async def _relay(
        self, upstream: UpstreamConnection, request: ProxyRequest, client: ClientSide
    ) -> int:
        status = upstream.status
        headers = response_headers(upstream.headers, request_id_header(request.request_id))
        tap = request.tap if status < 300 else None
        length = upstream.content_length
        if upstream.complete or (length is not None and length <= _WHOLE_BODY_LIMIT):
            try:
                body = await upstream.read_body()
            except UpstreamClosed as exc:
                raise _NothingSent(stale_connection=False, connected=False) from exc
            upstream.stop_watching()  # so the watcher cannot drop a connection about to be reused
            if tap is not None:
                tap.body(body)
            await client.respond(status, headers, body)
            return status
        await client.start(status, headers)
        if tap is not None:
            tap.stream(_is_sse(upstream.headers))
        return await self._stream(upstream, status, client, tap)

    async def _stream(
        self, upstream: UpstreamConnection, status: int, client: ClientSide, tap: UsageTap | None
    ) -> int:
        # Writes to a gone client are dropped silently; watch for the disconnect so a long
        # generation upstream is cancelled instead of running to the end for nobody.
        upstream.watch_client()
        try:
            while chunk := await upstream.next_chunk():
                if tap is not None and not (chunk := tap.chunk(chunk)):
                    continue  # it held only the usage event the gateway asked for
                await client.send(chunk)
        except (UpstreamClosed, UpstreamProtocolError, TimeoutError) as exc:
            if upstream.stop_watching():
                return CLIENT_CLOSED
            log.warning("upstream broke off a response mid-stream: %s", type(exc).__name__)
            raise UpstreamBroken("upstream broke off the response") from exc
        if upstream.stop_watching():
            return CLIENT_CLOSED
        if tap is not None:
            tap.end()
        await client.end()
        return status


def _is_sse(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if len(name) == 12 and name.lower() == b"content-type":
            return value.startswith(b"text/event-stream")
    return False
