"""The gateway fast path moving bodies: SSE event by event, large bodies both ways, a slow
client slowing the replica, clients leaving (499), bodies over the limit (413), replicas failing
before and after the first byte. Same setup as test_gateway_fast_path.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.fast_path_world import (
    MAX_BODY,
    SSE_HEAD,
    World,
    chunk,
    echo,
    fast_path_world,
)
from tests.integration.raw_http import read_chunk, read_head, read_response, request
from tests.integration.upstream_servers import Exchange, ScriptedServer


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with fast_path_world(tmp_path) as world:
        yield world


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
