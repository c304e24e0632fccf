"""The gateway fast path on the wire, one connection at a time: keep-alive, pipelining (with a
management API request in the pipeline), Connection: close, HEAD, 100-continue, answers without
a body, retries and 503. A real uvicorn server with the fast-path protocol class, scripted
loopback replicas, and a raw client that controls the bytes.

What the ASGI path also does is tested on both paths in test_gateway.py and
test_gateway_dialects.py; these tests cover what only a protocol-level server can get wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.integration.fast_path_world import (
    World,
    echo,
    fast_path_world,
)
from tests.integration.raw_http import read_response, request
from tests.integration.upstream_servers import Exchange, ScriptedServer, free_port


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with fast_path_world(tmp_path) as world:
        yield world


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
    await world.add("cold", [])  # held for a replica that never comes, then refused
    reader, writer = await world.connect()
    writer.write(request("POST", "/endpoints/cold/x", world.token, b"{}"))
    answer = await read_response(reader)
    assert (answer.status, answer.headers["retry-after"]) == (503, "5")
    assert answer.headers["content-type"] == "application/json"
    assert b'"code": "hold_timeout"' in answer.body
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
