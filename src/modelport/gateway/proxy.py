"""The hot path: forward one request to a READY replica and stream its answer back.

One shared aiohttp session with a pooled keep-alive connector serves every upstream. Bytes pass
through untouched (no decompression, no re-framing): small bodies of known length go out in one
message, everything else (SSE above all) is relayed chunk by chunk as it arrives.

Retries happen only while nothing has reached the client: a refused connection (the replica is
gone: eject it for a few seconds) or a reset / disconnect before the response (a stale pooled
connection gets one fresh try on the same replica) moves on to the next replica.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
from yarl import URL

from modelport.gateway.balancing import Balancer
from modelport.gateway.headers import response_headers
from modelport.gateway.metrics import CLIENT_CLOSED, GatewayMetrics
from modelport.gateway.responses import Receive, Send, request_id_header, send_error
from modelport.gateway.routes import EndpointRoute, ReplicaTarget

log = logging.getLogger("modelport.gateway.proxy")

CONNECT_TIMEOUT = 5.0  # a replica that does not accept within this is treated as down
POOL_KEEPALIVE = 4.0  # below uvicorn's 5 s default, so engines never close a connection we reuse
_WHOLE_BODY_LIMIT = 256 * 1024  # bodies of known length up to this go out in one message


@dataclass(slots=True)
class ProxyRequest:
    method: str
    path_qs: str  # already percent-encoded path plus "?query"
    body: bytes
    headers: list[tuple[str, str]]  # filtered, with X-Request-Id and X-Forwarded-*
    request_id: str


class _NothingSent(Exception):
    """The attempt failed before any byte reached the client: another replica may serve it."""

    def __init__(self, stale_connection: bool) -> None:
        super().__init__("upstream failed before the response")
        self.stale_connection = stale_connection


class UpstreamBroken(Exception):
    """The upstream failed mid-response; raising makes the server cut the client connection."""


def make_session(upstream_timeout: float) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=0,  # no pool-wide cap: engines apply their own backpressure
        limit_per_host=0,
        keepalive_timeout=POOL_KEEPALIVE,
        ttl_dns_cache=300,
        enable_cleanup_closed=False,
    )
    return aiohttp.ClientSession(
        connector=connector,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=upstream_timeout, sock_connect=CONNECT_TIMEOUT),
        raise_for_status=False,
    )


class Proxy:
    def __init__(self, balancer: Balancer, metrics: GatewayMetrics, upstream_timeout: float):
        self._balancer = balancer
        self._metrics = metrics
        self._timeout = upstream_timeout
        self._session: aiohttp.ClientSession | None = None

    async def startup(self) -> None:
        if self._session is None:
            self._session = make_session(self._timeout)

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def forward(
        self, route: EndpointRoute, request: ProxyRequest, receive: Receive, send: Send
    ) -> int:
        """Serve the request from one of the route's replicas; returns the status sent."""
        balancer = self._balancer
        tried: list[int] = []
        fresh_retry_left = True
        target = balancer.pick(route.replicas)
        while target is not None:
            try:
                return await self._attempt(target, request, receive, send)
            except _NothingSent as failure:
                self._metrics.retried(route.name)
                if failure.stale_connection and fresh_retry_left:
                    fresh_retry_left = False
                    continue  # same replica, on a new connection
                tried.append(target.replica_id)
                target = balancer.pick(route.replicas, exclude=tried)
            except TimeoutError:
                await send_error(
                    send, 504, "the endpoint did not answer in time", "timeout",
                    "upstream_timeout", request.request_id,
                )  # fmt: skip
                return 504
        await send_error(
            send, 503, f"endpoint '{route.name}' has no ready replica; retry shortly",
            "service_unavailable", "no_ready_replica", request.request_id,
            [(b"retry-after", b"1")],
        )  # fmt: skip
        return 503

    async def _attempt(
        self, target: ReplicaTarget, request: ProxyRequest, receive: Receive, send: Send
    ) -> int:
        assert self._session is not None, "Proxy.startup() was not awaited"
        balancer = self._balancer
        balancer.acquire(target.replica_id)
        try:
            try:
                response = await self._session.request(
                    request.method,
                    URL(target.url + request.path_qs, encoded=True),
                    data=request.body or None,
                    headers=request.headers,
                    allow_redirects=False,
                )
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                balancer.eject(target.replica_id)
                raise _NothingSent(stale_connection=False) from exc
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
                raise _NothingSent(stale_connection=True) from exc
            try:
                return await self._relay(response, request.request_id, receive, send)
            finally:
                response.release()
        finally:
            balancer.release(target.replica_id)

    async def _relay(
        self, response: aiohttp.ClientResponse, request_id: str, receive: Receive, send: Send
    ) -> int:
        status = response.status
        headers = response_headers(response.raw_headers, request_id_header(request_id))
        length = response.content_length
        if length is not None and length <= _WHOLE_BODY_LIMIT:
            try:
                body = await response.read()
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError) as exc:
                raise _NothingSent(stale_connection=False) from exc
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return status
        await send({"type": "http.response.start", "status": status, "headers": headers})
        return await self._stream(response, status, receive, send)

    async def _stream(
        self, response: aiohttp.ClientResponse, status: int, receive: Receive, send: Send
    ) -> int:
        # The ASGI server drops writes to a gone client silently; watch for the disconnect so
        # a long generation upstream is cancelled instead of running to the end for nobody.
        watcher = asyncio.create_task(_close_when_client_leaves(receive, response))
        try:
            async for chunk in response.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except (aiohttp.ClientError, TimeoutError) as exc:
            if watcher.done():
                return CLIENT_CLOSED
            log.warning("upstream broke off a response mid-stream: %s", type(exc).__name__)
            raise UpstreamBroken("upstream broke off the response") from exc
        finally:
            client_left = watcher.done()
            watcher.cancel()
        if client_left:
            return CLIENT_CLOSED
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return status


async def _close_when_client_leaves(receive: Receive, response: aiohttp.ClientResponse) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    response.close()
