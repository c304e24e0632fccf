"""The connection cap (server/edge.py) under a slow-header flood: a connection over the cap
replaces one whose request head has been arriving longest (a slow-header client), else the
longest idle keep-alive one, else a silent one past its grace; never one that has only just
connected (it may be a client about to send its request): a burst of newcomers is admitted
above the cap instead. A real uvicorn server with the fast-path protocol, capped at 4."""

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
GRACE = 0.5  # EdgeLimits.fresh_grace for these tests
WHOAMI = b"GET /api/v1/whoami HTTP/1.1\r\nHost: x\r\n\r\n"
PARTIAL = b"GET /v1/models HTTP/1.1\r\nHost: x\r\n"  # a head that never ends


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with fast_path_world(
        tmp_path, EdgeLimits(max_connections=CAP, fresh_grace=GRACE)
    ) as world:
        yield world


async def until(check: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.01)


async def test_a_slow_head_is_cut_before_a_client_that_has_not_sent_yet(world: World) -> None:
    listed = world.protocol
    quiet_reader, quiet = await world.connect()  # connected first; its request comes later
    await until(lambda: len(listed.fresh) == 1, "the quiet connection is accepted")
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


async def test_with_no_slow_head_the_longest_idle_keep_alive_connection_makes_room(
    world: World,
) -> None:
    idle = [await world.connect() for _ in range(CAP)]
    for reader, writer in idle:  # each served once, then idle on keep-alive
        writer.write(WHOAMI)
        assert (await asyncio.wait_for(read_response(reader), 10)).status == 200
    await until(lambda: len(world.protocol.idle) == CAP, "every connection is idle")
    reader, writer = await world.connect()
    assert await asyncio.wait_for(idle[0][0].read(), 10) == b""
    writer.write(WHOAMI)
    assert (await asyncio.wait_for(read_response(reader), 10)).status == 200
    for _, w in [*idle, (reader, writer)]:
        w.close()


async def test_a_burst_of_newcomers_is_admitted_and_a_silent_one_goes_after_its_grace(
    world: World,
) -> None:
    """Every connection has just connected: none is cut for the next, which is admitted above
    the cap and served; once the first has been silent past the grace, it makes room."""
    burst = [await world.connect() for _ in range(CAP)]
    await until(lambda: len(world.protocol.fresh) == CAP, "every connection is accepted")
    reader, writer = await world.connect()  # over the cap, every other one within its grace
    writer.write(WHOAMI)
    assert (await asyncio.wait_for(read_response(reader), 10)).status == 200
    await asyncio.sleep(0.05)
    assert all(not r.at_eof() for r, _ in burst), "a just-connected client was cut"
    writer.close()  # (else, idle on keep-alive, it would be the one to make room)
    await until(lambda: not world.protocol.idle, "the served connection is gone")
    await asyncio.sleep(GRACE)
    late_reader, late = await world.connect()
    assert await asyncio.wait_for(burst[0][0].read(), 10) == b""  # silent past its grace: cut
    late.write(WHOAMI)
    assert (await asyncio.wait_for(read_response(late_reader), 10)).status == 200
    for _, w in [*burst, (late_reader, late)]:
        w.close()
