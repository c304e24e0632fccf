"""Probes against real sockets on loopback (HTTP, TCP) and the fake runtime (exec), with
period, initial delay, thresholds and disabled probes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from modelport.clock import FakeClock
from modelport.controller.probes import ProbeRunner, ProbeVerdict, ResolvedProbes
from modelport.domain.launch import LaunchPlan
from modelport.domain.records import Replica, ReplicaHandle
from modelport.domain.specs import ProbeProtocol, ProbeSpec
from modelport.domain.states import ReplicaState
from modelport.runtime.fake import FakeRuntime
from tests.unit.controller.conftest import GatedRuntime
from tests.unit.domain.records import replica as make_replica

EXEC_READY = ProbeSpec(protocol=ProbeProtocol.EXEC, commands=["ready"], period_seconds=2)
EXEC_ALIVE = ProbeSpec(
    protocol=ProbeProtocol.EXEC, commands=["alive"], period_seconds=1, failure_threshold=2
)


@pytest.fixture
async def http_server() -> AsyncIterator[int]:
    """A tiny real HTTP server: /health answers 200, /sick 503, /slow never in time."""

    async def health(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def sick(_: web.Request) -> web.Response:
        return web.Response(status=503)

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/sick", sick)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield port
    await runner.cleanup()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def handle(port: int, pid: int = 1) -> ReplicaHandle:
    return ReplicaHandle(backend="fake", host="127.0.0.1", port=port, pid=pid)


async def test_http_probe_passes_on_2xx_and_fails_on_5xx_or_no_listener(http_server: int):
    runner = ProbeRunner(FakeRuntime(), FakeClock())
    try:
        ok = await runner.check(handle(http_server), ProbeSpec(path="/health"))
        assert ok.ok
        sick = await runner.check(handle(http_server), ProbeSpec(path="/sick"))
        assert not sick.ok and sick.detail == "GET /sick: HTTP 503"
        refused = await runner.check(handle(free_port()), ProbeSpec(path="/health"))
        assert not refused.ok
    finally:
        await runner.close()


async def test_tcp_probes_connect(http_server: int):
    runner = ProbeRunner(FakeRuntime(), FakeClock())
    for protocol in (ProbeProtocol.TCP,):
        assert (await runner.check(handle(http_server), ProbeSpec(protocol=protocol))).ok
        assert not (await runner.check(handle(free_port()), ProbeSpec(protocol=protocol))).ok


async def test_a_probe_port_overrides_the_serving_port(http_server: int):
    runner = ProbeRunner(FakeRuntime(), FakeClock())
    probe = ProbeSpec(protocol=ProbeProtocol.TCP, port=http_server)
    assert (await runner.check(handle(free_port()), probe)).ok


async def _started(runtime: FakeRuntime, state: ReplicaState = ReplicaState.STARTING) -> Replica:
    plan = LaunchPlan(
        argv=["x"], host="127.0.0.1", port=1, readiness=EXEC_READY, liveness=EXEC_ALIVE
    )
    started = await runtime.start("r", plan)
    return make_replica(7, state).model_copy(update={"handle": started})


async def settled(runner: ProbeRunner, replica: Replica, probes: ResolvedProbes) -> ProbeVerdict:
    """Start what is due, let it finish, and judge: what the first tick after it would see."""
    runner.verdict(replica, probes)
    await runner.wait()
    return runner.verdict(replica, probes)


async def test_readiness_needs_its_success_threshold_in_a_row_at_most_once_a_period():
    runtime, clock = FakeRuntime(), FakeClock()
    runner = ProbeRunner(runtime, clock)
    replica = await _started(runtime)
    probes = ResolvedProbes(EXEC_READY.model_copy(update={"success_threshold": 2}), EXEC_ALIVE)
    assert not (await settled(runner, replica, probes)).readiness_passed  # 1 success
    clock.advance(1)
    assert not (await settled(runner, replica, probes)).readiness_passed  # not due: period 2s
    clock.advance(1)
    assert (await settled(runner, replica, probes)).readiness_passed  # 2 in a row


async def test_readiness_waits_out_the_initial_delay():
    runtime, clock = FakeRuntime(), FakeClock()
    runner = ProbeRunner(runtime, clock)
    replica = await _started(runtime)  # state changed at the clock's start
    probes = ResolvedProbes(EXEC_READY.model_copy(update={"initial_delay_seconds": 5}), EXEC_ALIVE)
    clock.advance(4)
    assert not (await settled(runner, replica, probes)).readiness_passed
    clock.advance(1)
    assert (await settled(runner, replica, probes)).readiness_passed


async def test_liveness_fails_after_its_threshold_only_on_ready_replicas():
    runtime, clock = FakeRuntime(), FakeClock()
    runner = ProbeRunner(runtime, clock)
    starting = await _started(runtime)
    assert starting.handle is not None
    runtime.set_probe(starting.handle, "alive", ok=False)
    probes = ResolvedProbes(EXEC_READY, EXEC_ALIVE)
    for _ in range(3):
        assert not (await settled(runner, starting, probes)).liveness_failed
        clock.advance(1)
    ready = starting.model_copy(update={"state": ReplicaState.READY})
    assert not (await settled(runner, ready, probes)).liveness_failed
    clock.advance(1)
    verdict = await settled(runner, ready, probes)
    assert verdict.liveness_failed and verdict.detail == "exec alive: failed"


async def test_disabled_probes_mean_ready_when_running_and_never_dead():
    runtime, clock = FakeRuntime(), FakeClock()
    runner = ProbeRunner(runtime, clock)
    replica = await _started(runtime, ReplicaState.READY)
    assert replica.handle is not None
    runtime.probe_default = False
    off = ProbeSpec(enabled=False)
    verdict = runner.verdict(replica, ResolvedProbes(off, off))
    assert verdict.readiness_passed and not verdict.liveness_failed


async def test_a_new_process_starts_with_fresh_counters():
    runtime, clock = FakeRuntime(), FakeClock()
    runner = ProbeRunner(runtime, clock)
    replica = await _started(runtime, ReplicaState.READY)
    assert replica.handle is not None
    runtime.set_probe(replica.handle, "ready", ok=False)
    probes = ResolvedProbes(EXEC_READY.model_copy(update={"failure_threshold": 1}), EXEC_ALIVE)
    assert (await settled(runner, replica, probes)).readiness_failed
    restarted = await _started(runtime, ReplicaState.READY)  # same replica id, new process
    assert restarted.handle != replica.handle
    fresh = await settled(runner, restarted, probes)
    assert fresh.readiness_passed and not fresh.readiness_failed


def test_the_probes_run_are_those_the_engine_adapter_resolved_into_the_plan():
    plan = LaunchPlan(
        argv=["x"], host="127.0.0.1", port=1, readiness=EXEC_READY, liveness=EXEC_ALIVE
    )
    assert ResolvedProbes.of(plan) == ResolvedProbes(EXEC_READY, EXEC_ALIVE)


async def test_a_hanging_probe_never_holds_up_the_verdict_nor_stacks_up():
    runtime, clock = GatedRuntime(), FakeClock()
    runtime.hold("r")
    runner = ProbeRunner(runtime, clock)
    replica = await _started(runtime)
    assert replica.handle is not None
    probes = ResolvedProbes(EXEC_READY, EXEC_ALIVE)
    for _ in range(5):  # ticks go on while the probe hangs, periods pass
        verdict = runner.verdict(replica, probes)
        assert not verdict.readiness_passed and not verdict.readiness_failed
        await runtime.wait_begun(1)
        clock.advance(EXEC_READY.period_seconds)
    assert runtime.begun_for(replica.handle, "ready") == 1, "one attempt in flight at most"
    runtime.gate.set()
    await runner.wait()
    assert runner.verdict(replica, probes).readiness_passed  # and starts the next one, due
    await runtime.wait_begun(2)
    assert runtime.begun_for(replica.handle, "ready") == 2


async def test_a_probe_still_running_at_its_timeout_counts_as_a_failure():
    # A replica that accepts the connection (the kernel's backlog) and never answers HTTP.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        runtime, clock = FakeRuntime(), FakeClock()
        runner = ProbeRunner(runtime, clock)
        replica = make_replica(7, ReplicaState.STARTING).model_copy(update={"handle": handle(port)})
        http = ProbeSpec(path="/health", timeout_seconds=0.2, failure_threshold=1)
        try:
            verdict = await settled(runner, replica, ResolvedProbes(http, http))
        finally:
            await runner.close()
    assert verdict.readiness_failed and verdict.detail == "GET /health: no answer within 0.2s"


async def test_an_exec_probe_overrunning_its_timeout_is_cut_off_as_a_failure():
    runtime, clock = GatedRuntime(), FakeClock()
    runtime.hold("r")  # a runtime whose exec never returns, whatever the timeout
    runner = ProbeRunner(runtime, clock)
    replica = await _started(runtime)
    assert replica.handle is not None
    ready = EXEC_READY.model_copy(update={"timeout_seconds": 0.05, "failure_threshold": 1})
    verdict = await settled(runner, replica, ResolvedProbes(ready, EXEC_ALIVE))
    assert verdict.readiness_failed and verdict.detail == "no answer within 0.05s"
    assert runtime.cancelled == [(replica.handle, "ready")]


async def test_outcomes_of_a_replaced_process_are_dropped_and_its_probe_cancelled():
    runtime, clock = GatedRuntime(), FakeClock()
    runner = ProbeRunner(runtime, clock)
    old = await _started(runtime)
    assert old.handle is not None
    runtime.set_probe(old.handle, "ready", ok=False)
    runtime.hold("r")
    probes = ResolvedProbes(EXEC_READY.model_copy(update={"failure_threshold": 1}), EXEC_ALIVE)
    runner.verdict(old, probes)  # the old process's probe hangs ...
    await runtime.wait_begun(1)
    runtime.held.clear()
    new = await _started(runtime)  # ... while the replica is restarted (same id)
    assert new.handle is not None and new.handle != old.handle
    runner.verdict(new, probes)
    runtime.gate.set()
    await runner.wait()
    verdict = runner.verdict(new, probes)
    assert verdict.readiness_passed and not verdict.readiness_failed
    assert runtime.cancelled == [(old.handle, "ready")]


@pytest.mark.parametrize("end", ["forget", "forget_all_but", "abandon", "close"])
async def test_forgetting_a_replica_or_giving_up_cancels_its_probes_in_flight(end: str):
    runtime, clock = GatedRuntime(), FakeClock()
    runtime.hold("r")
    runner = ProbeRunner(runtime, clock)
    replica = await _started(runtime, ReplicaState.READY)
    assert replica.handle is not None
    runner.verdict(replica, ResolvedProbes(EXEC_READY, EXEC_ALIVE))
    await runtime.wait_begun(2)  # readiness and liveness both hang
    ends = {
        "forget": lambda: runner.forget(replica.id),
        "forget_all_but": lambda: runner.forget_all_but(set()),
        "abandon": runner.abandon,
    }
    if end == "close":
        await runner.close()
    else:
        ends[end]()
        await runner.wait()
    assert sorted(runtime.cancelled, key=str) == [
        (replica.handle, "alive"),
        (replica.handle, "ready"),
    ]
    # Counters went with them: the replica is judged afresh.
    assert not runner.verdict(replica, ResolvedProbes(EXEC_READY, EXEC_ALIVE)).readiness_passed


async def test_hung_http_probes_never_make_another_wait_for_a_connection(http_server: int):
    """Probes of many hung replicas are in flight at once; a healthy replica's probe is not
    queued behind them (aiohttp caps a session at 100 connections unless told otherwise)."""
    held: list[asyncio.StreamWriter] = []
    cap_reached = asyncio.Event()  # as many hung connections as aiohttp allows by default

    async def never_answer(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        if len(held) == 100:
            cap_reached.set()

    silent = await asyncio.start_server(never_answer, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    runner = ProbeRunner(FakeRuntime(), FakeClock())
    hung_probe = ProbeSpec(path="/health", timeout_seconds=60)
    hung = [asyncio.create_task(runner.check(handle(port), hung_probe)) for _ in range(120)]
    try:
        await cap_reached.wait()
        healthy = await runner.check(handle(http_server), ProbeSpec(path="/health"))
        assert healthy.ok, healthy.detail
    finally:
        for task in hung:
            task.cancel()
        await asyncio.gather(*hung, return_exceptions=True)
        await runner.close()
        for writer in held:
            writer.close()
        silent.close()
        await silent.wait_closed()
