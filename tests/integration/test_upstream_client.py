"""The gateway's upstream client against real loopback servers, on asyncio's loop and uvloop.

Each test is one coroutine run on a fresh loop of each kind: the server under uvicorn runs on
uvloop, and uvloop's transports differ from asyncio's in small ways.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import pytest
import uvloop

from modelport.gateway.upstream import (
    HIGH_WATER,
    UpstreamClosed,
    UpstreamConnection,
    UpstreamTimeout,
    request_head,
)
from modelport.gateway.upstream_pool import UpstreamPool
from tests.integration.upstream_servers import Exchange, ScriptedServer, free_port, response

Run = Callable[[Coroutine[Any, Any, None]], None]
RUNNERS: dict[str, Run] = {"asyncio": asyncio.run, "uvloop": uvloop.run}


@pytest.fixture(params=sorted(RUNNERS))
def run(request: pytest.FixtureRequest) -> Run:
    return RUNNERS[request.param]


async def fetch(
    pool: UpstreamPool,
    url: str,
    method: str = "GET",
    path: str = "/",
    body: bytes = b"",
    headers: list[tuple[str, str]] | None = None,
) -> tuple[Answer, bytes]:
    connection = await pool.acquire(url)
    head = request_head(method, path, connection.host, headers or [], len(body))
    connection.send(head, body, method == "HEAD")
    await connection.read_head()
    data = await connection.read_body()
    answer = Answer(
        connection.status, connection.headers, connection.content_length, connection.reused,
        connection,
    )  # fmt: skip
    pool.release(connection)
    return answer, data


@dataclass
class Answer:
    """What a connection held when its response ended (release() resets it)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    content_length: int | None
    reused: bool
    connection: UpstreamConnection


def test_content_length_answers_reuse_one_keep_alive_connection(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(response(b'{"n": %d}' % exchange.index, extra="X-Up: yes\r\n"))

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            first, body = await fetch(pool, server.url, path="/x?q=1", headers=[("X-A", "1")])
            assert (first.status, body, first.reused) == (200, b'{"n": 0}', False)
            assert (b"X-Up", b"yes") in first.headers
            host = f"127.0.0.1:{server.port}"
            expected = f"GET /x?q=1 HTTP/1.1\r\nHost: {host}\r\nX-A: 1\r\n\r\n"
            assert server.exchanges[0].head == expected.encode()
            second, body = await fetch(pool, server.url, "POST", "/y", b"payload")
            assert second.connection is first.connection and second.reused
            assert body == b'{"n": 1}'
            assert server.exchanges[1].body == b"payload"
            assert server.exchanges[1].header("content-length") == "7"
            assert server.accepted == 1
            await pool.close()

    run(scenario())


def test_chunked_answer_is_reassembled_and_the_connection_kept(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        await exchange.write(b"5\r\nhello\r\n")
        await exchange.write(b"6\r\n world\r\n0\r\n\r\n")

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            connection, body = await fetch(pool, server.url)
            assert (body, connection.content_length) == (b"hello world", None)
            assert pool.idle_count(server.url) == 1
            await fetch(pool, server.url)
            assert server.accepted == 1
            await pool.close()

    run(scenario())


def test_close_delimited_body_ends_with_the_connection(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        version = "1.0" if exchange.connection else "1.1"
        await exchange.write(f"HTTP/{version} 200 OK\r\nConnection: close\r\n\r\n".encode())
        await exchange.write(b"all of ")
        await exchange.write(b"it")
        exchange.writer.close()

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            for _ in range(2):
                _, body = await fetch(pool, server.url)
                assert body == b"all of it"
                assert pool.idle_count(server.url) == 0
            assert server.accepted == 2
            await pool.close()

    run(scenario())


def test_interim_answers_are_skipped(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await exchange.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n")
        await exchange.write(response(b"final"))

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            connection, body = await fetch(pool, server.url, "POST", "/", b"x")
            assert (connection.status, body) == (200, b"final")
            assert all(name.lower() != b"link" for name, _ in connection.headers)
            await fetch(pool, server.url)
            assert server.accepted == 1
            await pool.close()

    run(scenario())


def test_head_answer_ends_with_its_headers(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            connection, body = await asyncio.wait_for(fetch(pool, server.url, "HEAD"), 5)
            assert (connection.status, connection.content_length, body) == (200, 1000, b"")
            assert pool.idle_count(server.url) == 0  # the parser expects a body: not reused
            await pool.close()

    run(scenario())


def test_no_body_statuses_keep_the_connection(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        status = "204 No Content" if exchange.index == 0 else "304 Not Modified"
        await exchange.write(f"HTTP/1.1 {status}\r\nETag: x\r\n\r\n".encode())

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            for status in (204, 304):
                connection, body = await asyncio.wait_for(fetch(pool, server.url), 5)
                assert (connection.status, body) == (status, b"")
            assert server.accepted == 1
            await pool.close()

    run(scenario())


def test_a_pooled_connection_the_server_closed_fails_as_stale(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        if exchange.index == 0:
            await exchange.write(response(b"ok"))
        else:  # the keep-alive race: the server gave up on the connection as we reused it
            exchange.writer.transport.abort()

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            await fetch(pool, server.url)
            with pytest.raises(UpstreamClosed) as failure:
                await fetch(pool, server.url)
            assert failure.value.got_bytes is False
            assert pool.idle_count(server.url) == 0
            await pool.close()

    run(scenario())


def test_refused_connection_raises_oserror(run: Run) -> None:
    async def scenario() -> None:
        pool = UpstreamPool(30)
        with pytest.raises(ConnectionRefusedError):
            await pool.acquire(f"http://127.0.0.1:{free_port()}")
        await pool.close()

    run(scenario())


def test_request_outliving_its_deadline_times_out(run: Run) -> None:
    async def never(exchange: Exchange) -> None:
        await asyncio.sleep(30)

    async def scenario() -> None:
        async with ScriptedServer(never) as server:
            pool = UpstreamPool(0.3)
            started = asyncio.get_running_loop().time()
            with pytest.raises(UpstreamTimeout):
                await asyncio.wait_for(fetch(pool, server.url), 10)
            assert asyncio.get_running_loop().time() - started < 5
            await pool.close()

    run(scenario())


def test_idle_connections_are_closed_after_keepalive(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(response(b"ok"))

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30, keepalive=0.1)
            pool.start()
            await fetch(pool, server.url)
            assert pool.idle_count(server.url) == 1
            for _ in range(50):
                await asyncio.sleep(0.05)
                if server.closed_by_peer:
                    break
            assert pool.idle_count(server.url) == 0
            assert server.closed_by_peer == [0]
            await pool.close()

    run(scenario())


def test_a_slow_reader_pauses_the_upstream(run: Run) -> None:
    size = 32 * 1024 * 1024  # far more than loopback socket buffers hold
    written = asyncio.Event()

    async def answer(exchange: Exchange) -> None:
        await exchange.write(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        await exchange.write(b"x" * size)
        written.set()

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            connection = await pool.acquire(server.url)
            connection.send(request_head("GET", "/", connection.host, [], 0), b"", False)
            await connection.read_head()
            await asyncio.sleep(0.3)  # not reading: the server must be held back
            assert not written.is_set()
            received = 0
            while chunk := await connection.next_chunk():
                assert len(chunk) <= HIGH_WATER + 256 * 1024
                received += len(chunk)
            assert received == size
            await asyncio.wait_for(written.wait(), 5)
            pool.release(connection)
            await pool.close()

    run(scenario())


def test_bytes_on_an_idle_connection_retire_it(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(response(b"ok"))
        if exchange.connection == 0:  # then a "408" nobody asked for, as some servers do
            await exchange.write(b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n")

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            await fetch(pool, server.url)
            await asyncio.sleep(0.1)
            second, body = await fetch(pool, server.url)
            assert (second.status, body, second.reused) == (200, b"ok", False)
            assert server.accepted == 2
            await pool.close()

    run(scenario())


def test_bytes_after_the_answer_keep_the_connection_out_of_the_pool(run: Run) -> None:
    async def answer(exchange: Exchange) -> None:
        await exchange.write(response(b"ok") + b"stray bytes")

    async def scenario() -> None:
        async with ScriptedServer(answer) as server:
            pool = UpstreamPool(30)
            connection = await pool.acquire(server.url)
            connection.send(request_head("GET", "/", connection.host, [], 0), b"", False)
            await connection.read_head()
            assert await connection.read_body() == b"ok"
            await asyncio.sleep(0.1)  # the stray bytes arrive in a later read, or the same one
            pool.release(connection)
            assert pool.idle_count(server.url) == 0
            await pool.close()

    run(scenario())
