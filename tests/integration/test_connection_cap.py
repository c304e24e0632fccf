"""The connection cap (server/edge.py) under a slow-header flood: a connection over the cap
replaces one whose request head has been arriving longest (a slow-header client) before one
that has sent nothing yet, which may be a client about to send its request. A real uvicorn
server with the fast-path protocol, capped at 4 connections."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from modelport.server.edge import EdgeLimits
from tests.integration.fast_path_world import World, fast_path_world
from tests.integration.raw_http import read_response

CAP = 4
PARTIAL = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n"  # a head that never ends


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with fast_path_world(tmp_path, EdgeLimits(max_connections=CAP)) as world:
        yield world


async def until(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.01)


async def test_a_slow_head_is_cut_before_a_client_that_has_not_sent_yet(world: World) -> None:
    listed = world.protocol
    quiet_reader, quiet = await world.connect()  # connected first; its request comes later
    await until(lambda: len(listed.waiting) == 1, "the quiet connection is accepted")
    slow = []
    for _ in range(CAP - 1):
        reader, writer = await world.connect()
        writer.write(PARTIAL)
        slow.append((reader, writer))
    await until(lambda: len(listed.partial) == CAP - 1, "three heads are arriving")
    _, over = await world.connect()  # over the cap: one connection must make room
    assert await asyncio.wait_for(slow[0][0].read(), 10) == b""  # the oldest slow head: cut
    quiet.write(b"GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = await asyncio.wait_for(read_response(quiet_reader), 10)
    assert answer.status == 200  # the management stand-in answered: never cut
    for _, writer in [*slow, (None, over), (None, quiet)]:
        writer.close()


async def test_with_no_slow_head_the_longest_idle_connection_makes_room(world: World) -> None:
    idle = [await world.connect() for _ in range(CAP)]
    await until(lambda: len(world.protocol.waiting) == CAP, "every connection is accepted")
    reader, writer = await world.connect()
    assert await asyncio.wait_for(idle[0][0].read(), 10) == b""
    writer.write(b"GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n")
    assert (await asyncio.wait_for(read_response(reader), 10)).status == 200
    for _, w in [*idle, (reader, writer)]:
        w.close()
