"""The proxy over the upstream client: retries, streaming, errors, against real loopback servers.

The ASGI client side is a recorder (FakeClient); the replicas are scripted raw servers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from modelport.gateway.balancing import Balancer
from modelport.gateway.downstream import AsgiClient
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.proxy import Proxy, ProxyRequest, UpstreamBroken
from modelport.gateway.routes import EndpointRoute, ReplicaTarget
from tests.integration.upstream_servers import (
    Exchange,
    FakeClient,
    ScriptedServer,
    free_port,
    response,
)

Run = Callable[[Coroutine[Any, Any, None]], None]
RUNNERS: dict[str, Run] = {"asyncio": asyncio.run, "uvloop": uvloop.run}
SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
SSE_HEAD += b"\r\n"


@pytest.fixture(params=sorted(RUNNERS))
def run(request: pytest.FixtureRequest) -> Run:
    return RUNNERS[request.param]


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def route(*urls: str) -> EndpointRoute:
    replicas = tuple(ReplicaTarget(index + 1, url) for index, url in enumerate(urls))
    return EndpointRoute(1, 1, "e", replicas, None, 0)


class World:
    def __init__(self, timeout: float = 30) -> None:
        self.balancer = Balancer()
        self.metrics = GatewayMetrics()
        self.proxy = Proxy(self.balancer, self.metrics, timeout)

    async def forward(
        self, target: EndpointRoute, client: FakeClient | None = None, body: bytes = b"{}"
    ) -> tuple[int, FakeClient]:
        client = client or FakeClient()
        request = ProxyRequest("POST", "/v1/x", body, [("X-Request-Id", "rid-1")], "rid-1")
        status = await self.proxy.forward(target, request, AsgiClient(client.receive, client.send))
        return status, client

    def retries(self) -> str:
        return next(
            (ln for ln in self.metrics.render().decode().splitlines() if "retries_total{" in ln),
            "",
        )


def test_sse_events_are_relayed_one_by_one(run: Run) -> None:
    async def scenario() -> None:
        gates = [asyncio.Event(), asyncio.Event(), asyncio.Event()]

        async def stream(exchange: Exchange) -> None:
            await exchange.write(SSE_HEAD)
            for index, gate in enumerate(gates):
                await exchange.write(chunk(b"data: event-%d\n\n" % index))
                # The next event is produced only once the client has this one: a proxy that
                # buffered would wait here forever.
                await asyncio.wait_for(gate.wait(), 5)
            await exchange.write(b"0\r\n\r\n")

        def seen(body: bytes) -> None:
            for index, gate in enumerate(gates):
                if b"event-%d" % index in body:
                    gate.set()

        async with ScriptedServer(stream) as server:
            world = World()
            await world.proxy.startup()
            status, client = await asyncio.wait_for(
                world.forward(route(server.url), FakeClient(on_body=seen)), 10
            )
            assert status == 200 and client.finished
            assert client.headers[b"content-type"] == b"text/event-stream"
            assert b"transfer-encoding" not in client.headers  # the server re-frames it
            assert client.headers[b"x-request-id"] == b"rid-1"
            events = [m["body"] for m in client.messages[1:] if m["body"]]
            assert events == [b"data: event-%d\n\n" % i for i in range(3)]
            await world.proxy.shutdown()

    run(scenario())


def test_a_stale_pooled_connection_is_retried_transparently(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        if exchange.connection == 0 and exchange.index == 1:
            exchange.writer.transport.abort()  # closed as we reused it: no byte came back
        else:
            await exchange.write(response(b'{"ok": true}'))

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            world = World()
            await world.proxy.startup()
            for _ in range(2):
                status, client = await world.forward(route(server.url))
                assert (status, client.body) == (200, b'{"ok": true}')
            assert server.accepted == 2
            assert world.retries().endswith(" 1.0")
            assert not world.balancer.is_ejected(1)  # stale is not dead
            await world.proxy.shutdown()

    run(scenario())


def test_a_failure_after_bytes_reached_the_client_is_not_retried(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(SSE_HEAD + chunk(b"data: partial\n\n"))
        await asyncio.sleep(0.05)
        exchange.writer.transport.abort()

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            world = World()
            await world.proxy.startup()
            client = FakeClient()
            with pytest.raises(UpstreamBroken):
                await world.forward(route(server.url, server.url), client)
            assert client.status == 200 and client.body == b"data: partial\n\n"
            assert len(server.exchanges) == 1 and world.retries() == ""
            await world.proxy.shutdown()

    run(scenario())


def test_refused_replica_is_ejected_and_the_next_one_serves(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(response(b"alive"))

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            world = World()
            await world.proxy.startup()
            dead = f"http://127.0.0.1:{free_port()}"
            for _ in range(3):
                status, client = await world.forward(route(dead, server.url))
                assert (status, client.body) == (200, b"alive")
            assert world.balancer.is_ejected(1)
            assert world.balancer.inflight(1) == world.balancer.inflight(2) == 0
            await world.proxy.shutdown()

    run(scenario())


def test_no_replica_left_is_503_with_retry_after(run: Run) -> None:
    async def scenario() -> None:
        world = World()
        await world.proxy.startup()
        status, client = await world.forward(route(f"http://127.0.0.1:{free_port()}"))
        assert status == client.status == 503
        assert client.headers[b"retry-after"] == b"1"
        assert client.headers[b"x-request-id"] == b"rid-1"
        status, client = await world.forward(route())
        assert status == 503
        await world.proxy.shutdown()

    run(scenario())


def test_an_upstream_that_does_not_answer_in_time_is_504(run: Run) -> None:
    async def never(exchange: Exchange) -> None:
        await asyncio.sleep(30)

    async def scenario() -> None:
        async with ScriptedServer(never) as server:
            world = World(timeout=0.3)
            await world.proxy.startup()
            status, client = await asyncio.wait_for(world.forward(route(server.url)), 10)
            assert status == client.status == 504
            await world.proxy.shutdown()

    run(scenario())


def test_client_leaving_mid_stream_closes_the_upstream_connection(run: Run) -> None:
    async def scenario() -> None:
        upstream_saw_close = asyncio.Event()

        async def stream(exchange: Exchange) -> None:
            await exchange.write(SSE_HEAD + chunk(b"data: first\n\n"))
            if await exchange.reader.read(1) == b"":  # EOF: the gateway hung up
                upstream_saw_close.set()

        async with ScriptedServer(stream) as server:
            world = World()
            await world.proxy.startup()
            client = FakeClient()
            client.on_body = lambda body: client.gone.set()
            status, _ = await asyncio.wait_for(world.forward(route(server.url), client), 10)
            assert status == 499
            await asyncio.wait_for(upstream_saw_close.wait(), 5)
            await world.proxy.shutdown()

    run(scenario())


def test_hop_by_hop_date_and_server_stay_behind_and_large_bodies_stream(run: Run) -> None:
    size = 1024 * 1024

    async def answer(exchange: Exchange) -> None:
        head = "HTTP/1.1 201 Created\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n"
        head += "Date: Mon, 23 Nov 2026 12:00:00 GMT\r\nServer: engine/1.0\r\n"
        head += f"X-Request-Id: engine-id\r\nX-Engine: e\r\nContent-Length: {size}\r\n\r\n"
        await exchange.write(head.encode() + b"y" * size)

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            world = World()
            await world.proxy.startup()
            status, client = await world.forward(route(server.url), body=b"z" * 100_000)
            assert status == 201 and client.body == b"y" * size
            assert len(client.messages) > 2  # over the whole-body limit: relayed in pieces
            headers = client.messages[0]["headers"]
            assert (b"x-engine", b"e") in headers and (b"content-length", b"%d" % size) in headers
            for dropped in (b"connection", b"keep-alive", b"date", b"server"):
                assert dropped not in dict(headers)  # the ASGI server writes its own Date
            assert [v for k, v in headers if k == b"x-request-id"] == [b"rid-1"]
            assert server.exchanges[0].body == b"z" * 100_000
            await world.proxy.shutdown()

    run(scenario())


def test_an_invalid_response_is_502(run: Run) -> None:
    async def garbage(exchange: Exchange) -> None:
        await exchange.write(b"SPDY/9 what\r\n\r\n")

    async def scenario() -> None:
        async with ScriptedServer(garbage) as server:
            world = World()
            await world.proxy.startup()
            status, client = await world.forward(route(server.url))
            assert status == client.status == 502
            await world.proxy.shutdown()

    run(scenario())


def test_replicas_that_close_without_answering_are_502_not_503(run: Run) -> None:
    async def hang_up(exchange: Exchange) -> None:
        exchange.writer.close()

    async def scenario() -> None:
        async with ScriptedServer(hang_up) as one, ScriptedServer(hang_up) as two:
            world = World()
            await world.proxy.startup()
            status, client = await world.forward(route(one.url, two.url))
            assert status == client.status == 502
            assert b"upstream_closed" in client.body
            assert len(one.exchanges) + len(two.exchanges) == 2  # each replica tried once
            await world.proxy.shutdown()

    run(scenario())


def test_a_client_leaving_an_unanswered_request_abandons_it(run: Run) -> None:
    async def scenario() -> None:
        upstream_saw_close = asyncio.Event()

        async def slow(exchange: Exchange) -> None:  # a long generation, not streamed
            if await exchange.reader.read(1) == b"":
                upstream_saw_close.set()

        async with ScriptedServer(slow) as server:
            world = World()
            await world.proxy.startup()
            client = FakeClient()
            asyncio.get_running_loop().call_later(0.2, client.gone.set)
            status, _ = await asyncio.wait_for(world.forward(route(server.url), client), 10)
            assert status == 499 and client.messages == []
            await asyncio.wait_for(upstream_saw_close.wait(), 5)
            await world.proxy.shutdown()

    run(scenario())


def test_a_slow_answer_to_a_client_that_stays_is_delivered_on_a_kept_connection(run: Run) -> None:
    async def slow(exchange: Exchange) -> None:
        await asyncio.sleep(1.5)  # past the point where the proxy starts listening for the client
        await exchange.write(response(b"worth the wait"))

    async def scenario() -> None:
        async with ScriptedServer(slow) as server:
            world = World()
            await world.proxy.startup()
            status, client = await asyncio.wait_for(world.forward(route(server.url)), 10)
            assert (status, client.body) == (200, b"worth the wait")
            await asyncio.sleep(0.05)
            status, client = await asyncio.wait_for(world.forward(route(server.url)), 10)
            assert status == 200 and server.accepted == 1
            await world.proxy.shutdown()

    run(scenario())
