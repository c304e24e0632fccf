"""A TCP probe passes only when something listens and keeps the connection: a port published
by Docker accepts connections itself and closes them at once while the container's server is
not up yet, which must not count as ready."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from modelport.controller.probe_checks import ProbeChecks
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import ProbeProtocol, ProbeSpec
from modelport.runtime.fake import FakeRuntime

TCP = ProbeSpec(protocol=ProbeProtocol.TCP, timeout_seconds=2)


async def _serve(
    on_connect: Callable[[asyncio.StreamReader, asyncio.StreamWriter], object],
) -> AsyncIterator[int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await on_connect(reader, writer)  # type: ignore[misc]

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def _check(port: int) -> tuple[bool, str]:
    checks = ProbeChecks(FakeRuntime())
    handle = ReplicaHandle(backend="docker", host="127.0.0.1", port=port)
    outcome = await checks.check(handle, TCP)
    await checks.close()
    return outcome.ok, outcome.detail


@pytest.fixture
async def listening() -> AsyncIterator[int]:
    async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the probe hangs up
        writer.close()

    async for port in _serve(keep):
        yield port


@pytest.fixture
async def closing() -> AsyncIterator[int]:
    async def close_at_once(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()  # as docker-proxy does when the container refuses

    async for port in _serve(close_at_once):
        yield port


async def test_a_listener_that_keeps_the_connection_passes(listening: int) -> None:
    ok, detail = await _check(listening)
    assert ok, detail


async def test_a_connection_closed_at_once_fails(closing: int) -> None:
    ok, detail = await _check(closing)
    assert not ok
    assert "closed at once" in detail


async def test_nothing_listening_fails() -> None:
    sock_server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = sock_server.sockets[0].getsockname()[1]
    sock_server.close()
    await sock_server.wait_closed()
    ok, _ = await _check(port)
    assert not ok
