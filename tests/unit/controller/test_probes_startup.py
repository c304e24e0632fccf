"""A STARTING replica's readiness runs on its own fast schedule, not on controller ticks: every
startup interval after the initial delay, one attempt in flight at most, a pass wakes the
controller, and once READY the probe's own period applies again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from modelport.clock import FakeClock
from modelport.controller.probes import STARTUP_ATTEMPTS_AT_ONCE, ProbeRunner, ResolvedProbes
from modelport.domain.launch import LaunchPlan
from modelport.domain.records import Replica
from modelport.domain.specs import ProbeProtocol, ProbeSpec
from modelport.domain.states import ReplicaState
from tests.unit.controller.conftest import GatedRuntime, World
from tests.unit.domain.records import replica as make_replica

INTERVAL = 0.1
READY = ProbeSpec(protocol=ProbeProtocol.EXEC, commands=["ready"], period_seconds=2)
ALIVE = ProbeSpec(protocol=ProbeProtocol.EXEC, commands=["alive"], period_seconds=2)
PROBES = ResolvedProbes(READY, ALIVE)


@dataclass
class Timer:
    delay: float
    callback: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@dataclass
class Timers:
    """The runner's `later`: records each timer; `fire` moves the clock to it and runs it."""

    clock: FakeClock
    made: list[Timer] = field(default_factory=list)

    def __call__(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = Timer(delay, callback)
        self.made.append(timer)
        return timer

    @property
    def pending(self) -> list[Timer]:
        return [t for t in self.made if not t.cancelled and t.callback is not _fired]

    def fire(self) -> float:
        [timer] = self.pending
        self.clock.advance(timer.delay)
        callback, timer.callback = timer.callback, _fired
        callback()
        return timer.delay


def _fired() -> None:
    raise AssertionError("a timer fired twice")


@dataclass
class Rig:
    runtime: GatedRuntime
    clock: FakeClock
    timers: Timers
    runner: ProbeRunner
    news: list[int]

    async def replica(self, replica_id: int = 7) -> Replica:
        plan = LaunchPlan(argv=["x"], host="127.0.0.1", port=1, readiness=READY, liveness=ALIVE)
        started = await self.runtime.start(f"r{replica_id}", plan)
        update = {"handle": started, "state_changed_at": self.clock.now()}
        return make_replica(replica_id, ReplicaState.STARTING).model_copy(update=update)


def rig() -> Rig:
    runtime, clock = GatedRuntime(), FakeClock()
    timers, news = Timers(clock), []
    runner = ProbeRunner(
        runtime,
        clock,
        on_news=lambda: news.append(1),
        startup_interval=INTERVAL,
        later=timers,
    )
    return Rig(runtime, clock, timers, runner, news)


async def test_a_starting_replica_is_probed_every_startup_interval_without_ticks():
    r = rig()
    replica = await r.replica()
    assert replica.handle is not None
    r.runtime.set_probe(replica.handle, "ready", ok=False)
    r.runner.verdict(replica, PROBES)  # the one tick: every later attempt follows on its own
    await r.runner.wait()
    for attempt in range(2, 6):
        assert r.timers.fire() == pytest.approx(INTERVAL), "not the 2 s period: STARTING"
        await r.runner.wait()
        assert r.runtime.begun_for(replica.handle, "ready") == attempt
    assert r.news == [], "failures of a loading replica move nothing"
    r.runtime.set_probe(replica.handle, "ready", ok=True)
    r.timers.fire()
    await r.runner.wait()
    assert r.news == [1], "the pass wakes the controller"
    assert r.timers.pending == [], "passed: no more startup attempts"
    assert r.runner.verdict(replica, PROBES).readiness_passed
    await r.runner.close()


async def test_the_first_attempt_comes_on_its_own_once_the_initial_delay_is_over():
    r = rig()
    replica = await r.replica()
    assert replica.handle is not None
    delayed = ResolvedProbes(READY.model_copy(update={"initial_delay_seconds": 5}), ALIVE)
    assert not r.runner.verdict(replica, delayed).readiness_passed
    assert r.runtime.begun == []
    assert r.timers.fire() == 5
    await r.runner.wait()
    assert r.runtime.begun_for(replica.handle, "ready") == 1
    assert r.news == [1] and r.runner.verdict(replica, delayed).readiness_passed
    await r.runner.close()


async def test_the_success_threshold_still_needs_successes_a_period_apart():
    r = rig()
    replica = await r.replica()
    twice = ResolvedProbes(READY.model_copy(update={"success_threshold": 2}), ALIVE)
    r.runner.verdict(replica, twice)
    await r.runner.wait()
    assert r.news == [] and not r.runner.verdict(replica, twice).readiness_passed
    assert r.timers.fire() == READY.period_seconds, "a first success is confirmed a period on"
    await r.runner.wait()
    assert r.news == [1] and r.runner.verdict(replica, twice).readiness_passed
    await r.runner.close()


async def test_a_ready_replica_goes_back_to_the_probe_period():
    r = rig()
    replica = await r.replica()
    assert replica.handle is not None
    r.runner.verdict(replica, PROBES)
    await r.runner.wait()
    ready = replica.model_copy(update={"state": ReplicaState.READY})
    r.clock.advance(INTERVAL)
    r.runner.verdict(ready, PROBES)  # starts liveness, not readiness: not due
    await r.runner.wait()
    assert r.runtime.begun_for(replica.handle, "ready") == 1
    assert r.timers.pending == [], "READY: ticks start attempts, at the period"
    r.clock.advance(READY.period_seconds - INTERVAL)
    r.runner.verdict(ready, PROBES)
    await r.runner.wait()
    assert r.runtime.begun_for(replica.handle, "ready") == 2
    await r.runner.close()


async def test_one_attempt_in_flight_at_most_even_when_ticks_and_the_schedule_meet():
    r = rig()
    r.runtime.hold("r")  # a replica that accepts and does not answer yet
    replica = await r.replica()
    assert replica.handle is not None
    r.runner.verdict(replica, PROBES)
    await r.runtime.wait_begun(1)
    for _ in range(5):
        r.clock.advance(INTERVAL)
        assert not r.runner.verdict(replica, PROBES).readiness_passed
    assert r.timers.pending == [], "no next attempt is scheduled while one is in flight"
    assert r.runtime.begun_for(replica.handle, "ready") == 1
    r.runtime.gate.set()
    await r.runner.wait()
    assert r.news == [1] and r.runner.verdict(replica, PROBES).readiness_passed
    await r.runner.close()


async def test_forgetting_a_starting_replica_cancels_its_next_attempt():
    r = rig()
    replica = await r.replica()
    assert replica.handle is not None
    r.runtime.set_probe(replica.handle, "ready", ok=False)
    r.runner.verdict(replica, PROBES)
    await r.runner.wait()
    [timer] = r.timers.pending
    r.runner.forget(replica.id)
    assert timer.cancelled
    await r.runner.close()


async def test_many_starting_replicas_are_probed_a_few_at_a_time():
    r = rig()
    r.runtime.hold("r")
    replicas = [await r.replica(i) for i in range(1, STARTUP_ATTEMPTS_AT_ONCE + 5)]
    for replica in replicas:
        r.runner.verdict(replica, PROBES)
    await r.runtime.wait_begun(STARTUP_ATTEMPTS_AT_ONCE)
    for _ in range(20):  # give the others every chance to begin: they must not
        await asyncio.sleep(0)
    assert len(r.runtime.begun) == STARTUP_ATTEMPTS_AT_ONCE
    r.runtime.gate.set()
    await r.runner.wait()
    assert len(r.runtime.begun) == len(replicas), "the rest ran once slots came free"
    assert len(r.news) == len(replicas)
    await r.runner.close()


async def test_a_replica_able_to_answer_is_ready_without_waiting_for_a_tick(world: World):
    """Through the controller's own loop with hour-long ticks: launch, probing and READY all
    follow from wakes (a created or launched replica, a passing probe), never the interval."""
    world.settings.reconcile_interval = 3600.0
    world.settings.startup_probe_interval = INTERVAL
    runtime = world.runtime = GatedRuntime()  # records the probes begun
    runtime.probe_default = False  # loading: its readiness fails
    ep = world.create(replicas=1)
    ctl = world.controller()
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        await _poll(lambda: len(runtime.begun) >= 1)  # probed once, and failed, on a tick
        runtime.probe_default = True  # loaded
        world.clock.advance(INTERVAL)  # the next startup attempt is due (the clock is fake)
        await _poll(lambda: [r.state for r in world.replicas(ep)] == [ReplicaState.READY])
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        await ctl.shutdown()


async def _poll(done: Callable[[], bool], deadline: float = 10.0) -> None:
    async with asyncio.timeout(deadline):
        while not done():
            await asyncio.sleep(0.01)
