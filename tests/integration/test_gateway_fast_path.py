"""The gateway fast path on the wire: a real uvicorn server with the fast-path protocol class,
a real SqlStore and token, scripted loopback replicas, and a raw client that controls the bytes
(pipelining, half-sent bodies, hanging up mid-response).

What the ASGI path also does is tested on both paths in test_gateway.py and
test_gateway_dialects.py; these tests cover what only a protocol-level server can get wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from modelport.clock import SystemClock
from modelport.domain.ids import hash_token, new_token, token_display_prefix
from modelport.domain.records import ReplicaHandle, Role
from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import ReplicaState
from modelport.gateway.app import create_gateway
from modelport.gateway.balancing import Balancer
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.server.dispatch import Dispatcher
from modelport.server.fast_protocol import fast_path_protocol
from modelport.services.auth import Authenticator
from modelport.settings import Settings
from modelport.store.repositories import SqlStore, open_store
from tests.integration.raw_http import read_chunk, read_head, read_response, request
from tests.integration.upstream_servers import Exchange, ScriptedServer, free_port, response

MAX_BODY = 4 * 1024 * 1024
SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
SSE_HEAD += b"\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def management(scope: Any, receive: Any, send: Any) -> None:
    """Where the dispatcher sends what is not gateway traffic (uvicorn's ASGI cycle)."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"api")]})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


@dataclass
class World:
    port: int
    token: str
    metrics: GatewayMetrics
    balancer: Balancer
    add: Callable[[str, list[int]], Awaitable[None]]  # endpoint name, replica ports

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    def count(self, endpoint: str, code: int) -> float:
        key = f'modelport_gateway_requests_total{{code="{code}",endpoint="{endpoint}"}} '
        lines = self.metrics.render().decode().splitlines()
        return next((float(ln.split(" ")[-1]) for ln in lines if ln.startswith(key)), 0.0)


def _ready_replica(store: SqlStore, endpoint_id: int, port: int) -> None:
    now = datetime.now(UTC)
    replica = store.create_replica(endpoint_id, 1, now)
    handle = ReplicaHandle(backend="local", host="127.0.0.1", port=port)
    store.transition_replica(
        replica.id, ReplicaState.PENDING, ReplicaState.STARTING, reason="t", now=now, handle=handle
    )
    store.transition_replica(
        replica.id, ReplicaState.STARTING, ReplicaState.READY, reason="t", now=now
    )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'gw.db'}")
    project = store.create_project("team").id
    secret = new_token()
    store.create_token(
        project, "t", Role.MEMBER, hash_token(secret), token_display_prefix(secret)
    )  # fmt: skip
    routes = RouteTable()
    spec = EndpointSpec(framework=Framework.CUSTOM, command=["serve", "{port}"])

    async def add(name: str, ports: list[int]) -> None:
        endpoint = store.create_endpoint(project, name, spec, spec.model_dump_json())
        for port in ports:
            _ready_replica(store, endpoint.id, port)
        await routes.refresh(store)

    settings = Settings(home=tmp_path, max_body_bytes=MAX_BODY, upstream_timeout=30)
    balancer, metrics = Balancer(), GatewayMetrics()
    auth = Authenticator(store, SystemClock())
    gateway = create_gateway(store, auth, routes, balancer, metrics, settings)
    await gateway.startup()
    app = Dispatcher(gateway, management, gateway.startup, gateway.shutdown)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", http=fast_path_protocol(gateway),
        log_level="warning", access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield World(port, secret, metrics, balancer, add)
    server.should_exit = True
    await serving
    await gateway.shutdown()
    store.close()


async def echo(exchange: Exchange) -> None:
    line = exchange.head.split(b"\r\n", 1)[0]
    await exchange.write(response(b"%s|%d|%s" % (line, len(exchange.body), exchange.body[:16])))


async def test_keep_alive_connections_are_reused_on_both_sides(world: World) -> None:
    async with ScriptedServer(echo) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        for index in range(3):
            writer.write(request("POST", f"/endpoints/e/v1/x?i={index}", world.token, b"hi"))
            answer = await read_response(reader)
            assert answer.status == 200
            assert answer.body == b"POST /v1/x?i=%d HTTP/1.1|2|hi" % index
            assert len(answer.headers["x-request-id"]) == 32
            assert answer.headers["date"]
        writer.close()
        assert replica.accepted == 1 and [e.index for e in replica.exchanges] == [0, 1, 2]


async def test_pipelined_requests_wait_for_the_answer_before_them(world: World) -> None:
    gate = asyncio.Event()

    async def gated(exchange: Exchange) -> None:
        if exchange.index == 0 and exchange.connection == 0:
            await asyncio.wait_for(gate.wait(), 5)
        await echo(exchange)

    async with ScriptedServer(gated) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(
            request("POST", "/endpoints/e/first", world.token, b"1")
            + request("GET", "/api/v1/between")  # the management API, in the same pipeline
            + request("POST", "/endpoints/e/second", world.token, b"2")
        )
        await asyncio.sleep(0.3)
        assert len(replica.exchanges) == 1  # the later requests wait their turn
        gate.set()
        first, between, second = [await read_response(reader) for _ in range(3)]
        assert first.body.startswith(b"POST /first ")
        assert (between.headers["x-app"], between.body) == ("api", b"/api/v1/between")
        assert second.body.startswith(b"POST /second ")
        writer.close()


async def test_sse_events_reach_the_client_one_by_one(world: World) -> None:
    gates = [asyncio.Event() for _ in range(3)]

    async def stream(exchange: Exchange) -> None:
        await exchange.write(SSE_HEAD)
        for index, gate in enumerate(gates):
            await exchange.write(chunk(b"data: event-%d\n\n" % index))
            await asyncio.wait_for(gate.wait(), 5)  # a buffering gateway deadlocks here
        await exchange.write(b"0\r\n\r\n")

    async with ScriptedServer(stream) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(request("POST", "/endpoints/e/sse", world.token, b"{}"))
        status, headers = await read_head(reader)
        assert (status, headers["content-type"]) == (200, "text/event-stream")
        assert headers["transfer-encoding"] == "chunked"
        for index, gate in enumerate(gates):
            assert await asyncio.wait_for(read_chunk(reader), 5) == b"data: event-%d\n\n" % index
            gate.set()
        assert await read_chunk(reader) == b""
        writer.close()
    assert world.count("e", 200) == 1


async def test_large_bodies_pass_both_ways_with_their_framing(world: World) -> None:
    sent = bytes(range(256)) * (3 * 4096)  # 3 MiB up
    down = b"y" * (8 * 1024 * 1024)  # 8 MiB back, with Content-Length

    async def answer(exchange: Exchange) -> None:
        if exchange.body:
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(down)
            await exchange.write(head + down)
        else:  # chunked, in 64 KiB chunks
            await exchange.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in range(64):
                await exchange.write(chunk(b"z" * 65536))
            await exchange.write(b"0\r\n\r\n")

    async with ScriptedServer(answer) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(request("PUT", "/endpoints/e/blob", world.token, sent))
        answered = await read_response(reader)
        assert (answered.status, answered.headers["content-length"]) == (200, str(len(down)))
        assert answered.body == down and not answered.chunked
        assert replica.exchanges[0].body == sent
        writer.write(request("GET", "/endpoints/e/blob", world.token))
        streamed = await read_response(reader)
        assert streamed.chunked and streamed.body == b"z" * (64 * 65536)
        writer.close()


async def test_a_slow_client_slows_the_replica_instead_of_filling_memory(world: World) -> None:
    piece, pieces = b"s" * (1024 * 1024), 256  # 256 MiB on offer
    written: list[int] = []

    async def flood(exchange: Exchange) -> None:
        await exchange.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(piece) * pieces)
        )
        for _ in range(pieces):
            await exchange.write(piece)
            written.append(1)

    async with ScriptedServer(flood) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(request("GET", "/endpoints/e/flood", world.token))
        await asyncio.sleep(1.0)  # the client reads nothing meanwhile
        stalled = len(written)
        assert stalled < 64, stalled  # socket buffers hold some MiB, the gateway little more
        await read_head(reader)
        received = 0
        while received < len(piece) * pieces:
            received += len(await reader.read(1 << 20))
        assert len(written) == pieces
        writer.close()


async def test_a_client_leaving_drops_the_upstream_connection_and_counts_499(
    world: World,
) -> None:
    saw_close: list[asyncio.Event] = [asyncio.Event(), asyncio.Event()]

    async def answer(exchange: Exchange) -> None:
        if exchange.connection == 0:  # mid-stream
            await exchange.write(SSE_HEAD + chunk(b"data: first\n\n"))
        # (connection 1: a long generation, not streamed: nothing is written)
        if await exchange.reader.read(1) == b"":  # EOF: the gateway hung up
            saw_close[exchange.connection].set()

    async with ScriptedServer(answer) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(request("POST", "/endpoints/e/sse", world.token, b"{}"))
        await read_head(reader)
        assert await read_chunk(reader) == b"data: first\n\n"
        writer.close()
        await asyncio.wait_for(saw_close[0].wait(), 5)
        reader, writer = await world.connect()
        writer.write(request("POST", "/endpoints/e/slow", world.token, b"{}"))
        await asyncio.sleep(0.2)
        writer.close()
        await asyncio.wait_for(saw_close[1].wait(), 5)
        await asyncio.sleep(0.05)
    assert world.count("e", 499) == 2
    assert world.metrics.inflight("e") == 0 and world.balancer.inflight(1) == 0


async def test_bodies_over_the_limit_are_413_declared_or_streamed(world: World) -> None:
    async with ScriptedServer(echo) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(request("POST", "/endpoints/e/x", world.token, b"x" * (MAX_BODY + 1)))
        declared = await read_response(reader)
        assert declared.status == 413 and b"request_too_large" in declared.body
        assert declared.headers["x-request-id"]
        writer.write(request("POST", "/endpoints/e/after", world.token, b"ok"))
        assert (await read_response(reader)).body.startswith(b"POST /after ")  # still usable
        writer.write(
            request("POST", "/endpoints/e/x", world.token, headers={"Transfer-Encoding": "chunked"})
        )
        for _ in range(5):
            writer.write(chunk(b"c" * (MAX_BODY // 4)))
        streamed = await read_response(reader)
        assert streamed.status == 413 and b"request_too_large" in streamed.body
        writer.close()
        assert [e.head.split(b" ")[1] for e in replica.exchanges] == [b"/after"]
    assert world.count("", 413) == 2


async def test_a_refused_replica_is_retried_on_another(world: World) -> None:
    async with ScriptedServer(echo) as replica:
        await world.add("mixed", [free_port(), replica.port])
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{world.port}") as client:
            for _ in range(4):
                answer = await client.post(
                    "/v1/chat/completions",
                    json={"model": "mixed"},
                    headers={"Authorization": f"Bearer {world.token}"},
                )
                assert answer.status_code == 200 and answer.text.startswith("POST /v1/chat")
    assert 'upstream_retries_total{endpoint="mixed"}' in world.metrics.render().decode()


async def test_no_ready_replica_is_503_with_retry_after(world: World) -> None:
    await world.add("cold", [])
    reader, writer = await world.connect()
    writer.write(request("POST", "/endpoints/cold/x", world.token, b"{}"))
    answer = await read_response(reader)
    assert (answer.status, answer.headers["retry-after"]) == (503, "1")
    assert answer.headers["content-type"] == "application/json"
    assert b'"code": "no_ready_replica"' in answer.body
    writer.close()


async def test_head_gets_the_headers_and_no_body(world: World) -> None:
    async def answer(exchange: Exchange) -> None:
        if exchange.head.startswith(b"HEAD"):
            await exchange.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-Kind: head\r\n\r\n")
            exchange.writer.close()  # the upstream client cannot reuse a HEAD connection anyway
        else:
            await echo(exchange)

    async with ScriptedServer(answer) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(request("HEAD", "/endpoints/e/file", world.token))
        head = await read_response(reader, head_only=True)
        assert (head.status, head.headers["content-length"], head.headers["x-kind"]) == (
            200,
            "1234",
            "head",
        )
        writer.write(request("GET", "/endpoints/e/next", world.token))
        assert (await read_response(reader)).body.startswith(b"GET /next ")  # no stray bytes
        writer.close()


async def test_connection_close_from_the_client_is_honoured(world: World) -> None:
    async with ScriptedServer(echo) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(request("GET", "/endpoints/e/x", world.token, headers={"Connection": "close"}))
        answer = await read_response(reader)
        assert (answer.status, answer.headers["connection"]) == (200, "close")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # and the server hung up
        writer.close()


async def test_expect_100_continue_gets_its_interim_answer(world: World) -> None:
    async with ScriptedServer(echo) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        head = request(
            "POST", "/endpoints/e/x", world.token,
            headers={"Content-Length": "5", "Expect": "100-continue"},
        )  # fmt: skip
        writer.write(head)
        assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5) == (
            b"HTTP/1.1 100 Continue\r\n\r\n"
        )
        writer.write(b"hello")
        assert (await read_response(reader)).body == b"POST /x HTTP/1.1|5|hello"
        writer.close()


async def test_answers_without_a_body_get_no_framing(world: World) -> None:
    async def answer(exchange: Exchange) -> None:
        status = b"204 No Content" if b"/204" in exchange.head else b"304 Not Modified"
        await exchange.write(b"HTTP/1.1 %s\r\nETag: x\r\n\r\n" % status)

    async with ScriptedServer(answer) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        for status in (204, 304):
            writer.write(request("GET", f"/endpoints/e/{status}", world.token))
            answer_ = await read_response(reader)
            assert answer_.status == status and answer_.headers["etag"] == "x"
            assert "transfer-encoding" not in answer_.headers
        writer.write(request("GET", "/endpoints/e/204", world.token))
        assert (await read_response(reader)).status == 204  # the connection is still in step
        writer.close()


async def test_upstream_failures_before_and_after_the_first_byte(world: World) -> None:
    async def answer(exchange: Exchange) -> None:
        if b"/garbage" in exchange.head:
            await exchange.write(b"SPDY/9 what\r\n\r\n")
        else:  # half a stream, then the replica dies
            await exchange.write(SSE_HEAD + chunk(b"data: partial\n\n"))
            await asyncio.sleep(0.05)
            exchange.writer.transport.abort()

    async with ScriptedServer(answer) as replica:
        await world.add("e", [replica.port])
        reader, writer = await world.connect()
        writer.write(request("GET", "/endpoints/e/garbage", world.token))
        invalid = await read_response(reader)
        assert invalid.status == 502 and b"upstream_protocol_error" in invalid.body
        writer.write(request("GET", "/endpoints/e/cut", world.token))
        status, _ = await read_head(reader)
        assert status == 200 and await read_chunk(reader) == b"data: partial\n\n"
        # The client must see the response cut short, not a clean end.
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
