"""The autoscaler in the controller loop, on a real SQLite store, a FakeRuntime and a FakeClock:
gateway load in, scale_target + one Scaled event out, replicas following in the same tick."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise

from modelport.autoscaler.window import GatewayReport
from modelport.controller.loop import Controller
from modelport.controller.probes import ProbeRunner, ResolvedProbes
from modelport.domain.records import Endpoint, Event, Role
from modelport.domain.scaling import ScaleChange, ScaleReason
from modelport.domain.states import DesiredState, ReplicaState
from modelport.services.auth import Principal
from modelport.services.endpoints import EndpointService
from tests.unit.controller.conftest import ALIVE_PROBE, READY_PROBE, World
from tests.unit.controller.test_loop import all_ready, states, until

POLICY = {
    "enabled": True,
    "min_replicas": 1,
    "max_replicas": 3,
    "stability_period_seconds": 5,
    "rules": [
        {
            "metric": "concurrency",
            "value": 2,
            "window_seconds": 2,
            "watch_period_seconds": 2,
            "granularity_seconds": 1,
        }
    ],
}


@dataclass
class Load:
    """A gateway's load reporter: requests in flight per endpoint id, reported when asked."""

    in_flight: dict[int, int] = field(default_factory=dict)
    calls: int = 0  # one per tick that collects
    before: Callable[[], None] | None = None  # runs inside the next call, once

    def __call__(self, now: float) -> Sequence[GatewayReport]:
        self.calls += 1
        if self.before is not None:
            self.before, run = None, self.before
            run()
        return [GatewayReport("gw-1", str(e), now, n, 0) for e, n in self.in_flight.items()]


def controller(world: World, load: Load, holder: str = "test") -> Controller:
    return Controller(
        world.store,
        world.runtime,
        world.box,
        world.clock,
        world.settings,
        holder_id=holder,
        adapters=world.adapter,
        load=load,
    )


def scaled(world: World, endpoint: Endpoint) -> list[Event]:
    events = world.store.list_events(endpoint.id, limit=10_000)
    return [e for e in events if e.reason == "Scaled"]


def target(world: World, endpoint: Endpoint) -> int | None:
    return world.store.get_endpoint_any_project(endpoint.id).scale_target


def live(world: World, endpoint: Endpoint) -> list[ReplicaState]:
    return [s for s in states(world, endpoint) if s is not ReplicaState.STOPPED]


async def test_a_spike_scales_up_in_the_same_tick_and_calm_scales_down_after_stability(
    world: World,
):
    ep = world.create(replicas=1, autoscale=POLICY)
    load = Load()
    ctl = controller(world, load)
    await until(world, ctl, all_ready(world, ep, 1))
    assert scaled(world, ep) == []

    load.in_flight[ep.id] = 6  # 6 in flight on 1 replica, target 2 each
    await ctl.tick()
    assert target(world, ep) == 3
    [event] = scaled(world, ep)
    assert event.message == (
        "panic: concurrency 6/replica >= 2x target 2 over the last 2 s: 1 -> 3"
    )
    assert event.scale == ScaleChange(  # the same decision as data, for the status API
        reason=ScaleReason.PANIC,
        from_replicas=1,
        to_replicas=3,
        detail="concurrency 6/replica >= 2x target 2 over the last 2 s",
    )
    assert len(world.replicas(ep)) == 3, "the new count is planned in the same tick"

    await until(world, ctl, all_ready(world, ep, 3))
    await world.ticks(ctl, 3)
    assert len(scaled(world, ep)) == 1, "6 in flight on 3 replicas is the target: no change"

    load.in_flight[ep.id] = 0
    await until(world, ctl, lambda: target(world, ep) == 1, limit=20)
    up, *downs = scaled(world, ep)
    assert downs[-1].message.startswith("scale_down: concurrency peak 0/replica < target 2")
    assert downs[-1].message.endswith("-> 1")
    changes = [up, *downs]
    for before, after in pairwise(changes):
        assert after.created_at - before.created_at >= timedelta(seconds=5), "stability period"
    assert ReplicaState.DRAINING in states(world, ep), "READY replicas drain, not stop at once"
    await until(world, ctl, lambda: live(world, ep) == [ReplicaState.READY])


async def test_scaling_down_gives_up_starting_replicas_before_ready_ones(world: World):
    ep = world.create(replicas=1, autoscale=POLICY)
    load = Load()
    ctl = controller(world, load)
    await until(world, ctl, all_ready(world, ep, 1))
    first = world.replicas(ep)[0]
    assert first.handle is not None
    for probe in ("ready", "alive"):
        world.runtime.set_probe(first.handle, probe, True)
    world.runtime.probe_default = False  # the new replicas never pass readiness

    load.in_flight[ep.id] = 6
    await until(world, ctl, lambda: states(world, ep).count(ReplicaState.STARTING) == 2)
    load.in_flight[ep.id] = 0
    await until(world, ctl, lambda: target(world, ep) == 1, limit=20)
    await until(world, ctl, lambda: len(world.replicas(ep)) == 1)
    [kept] = world.replicas(ep)
    assert kept.id == first.id and kept.state is ReplicaState.READY
    assert "ReplicaDraining" not in world.reasons(ep)


async def test_a_decision_that_meets_another_write_is_skipped_and_read_again(world: World):
    ep = world.create(replicas=1, autoscale=POLICY)
    load = Load()
    ctl = controller(world, load)
    await until(world, ctl, all_ready(world, ep, 1))

    def another_decision() -> None:  # lands between the tick's read and its compare-and-set
        world.store.set_scale_target(ep.id, expected=None, target=2, now=world.clock.now())

    load.before = another_decision
    load.in_flight[ep.id] = 6
    await ctl.tick()
    assert target(world, ep) == 2, "the other write stands"
    assert scaled(world, ep) == []

    world.clock.advance(1)
    await ctl.tick()  # reads 2 and decides from it
    assert target(world, ep) == 3
    assert [e.message.rsplit(": ", 1)[1] for e in scaled(world, ep)] == ["2 -> 3"]


async def test_only_the_lease_holder_writes_decisions(world: World):
    ep = world.create(replicas=1, autoscale=POLICY)
    load = Load({ep.id: 6})
    leader, standby = controller(world, Load(), "a"), controller(world, load, "b")
    assert await leader.tick_if_leader()
    for _ in range(3):
        assert not await standby.tick_if_leader()
        world.clock.advance(1)
        assert await leader.tick_if_leader()
    assert load.calls == 0, "a standby does not even read the gateways"
    assert target(world, ep) is None and scaled(world, ep) == []


async def test_autoscaling_off_keeps_the_manual_count_and_the_target_follows_it(world: World):
    ep = world.create(replicas=1, autoscale=POLICY)
    load = Load({ep.id: 6})
    ctl = controller(world, load)
    await until(world, ctl, lambda: live(world, ep) == [ReplicaState.READY] * 3)
    service = EndpointService(
        world.store, world.box, world.clock, "http://gw", check_spec=lambda _n, _s: None
    )
    admin = Principal(token_id=1, project_id=world.project.id, role=Role.ADMIN)
    patched = service.patch(admin, ep.name, {"replicas": 2, "autoscale": {"enabled": False}})
    assert patched.template_generation == ep.template_generation, "no rollout"
    await until(world, ctl, lambda: live(world, ep) == [ReplicaState.READY] * 2)
    await world.ticks(ctl, 3)
    assert live(world, ep) == [ReplicaState.READY] * 2, "load is not acted on while off"
    assert target(world, ep) == 2, "turned on again, it starts from what runs"
    assert len(scaled(world, ep)) == 1
    assert "RolloutStarted" not in world.reasons(ep)

    service.patch(admin, ep.name, {"autoscale": {"enabled": True}})
    await until(world, ctl, lambda: target(world, ep) == 3)
    assert scaled(world, ep)[-1].message.endswith("2 -> 3")


async def test_a_stopped_endpoint_is_not_autoscaled(world: World):
    ep = world.create(replicas=1, autoscale=POLICY)
    load = Load({ep.id: 6})
    ctl = controller(world, load)
    world.store.update_endpoint(ep.id, expected_generation=None, desired_state=DesiredState.STOPPED)
    await world.ticks(ctl, 3)
    assert target(world, ep) is None and world.replicas(ep) == []


async def test_poke_wakes_the_loop_without_waiting_for_the_interval(world: World):
    world.settings.reconcile_interval = 60.0
    load = Load()
    ctl = controller(world, load)
    stop = asyncio.Event()
    task = asyncio.create_task(ctl.run(stop))
    try:
        await _poll(lambda: load.calls == 1)
        await asyncio.sleep(0.2)
        assert load.calls == 1, "no tick before the interval unless poked"
        ctl.poke()
        await _poll(lambda: load.calls == 2)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)


async def _poll(done: Callable[[], bool], deadline: float = 5.0) -> None:
    async with asyncio.timeout(deadline):
        while not done():
            await asyncio.sleep(0.01)


async def test_a_probe_that_may_move_a_replica_wakes_the_loop(world: World):
    ep = world.create(replicas=1)
    news: list[int] = []
    probes = ProbeRunner(world.runtime, world.clock, on_news=lambda: news.append(1))
    specs = ResolvedProbes(READY_PROBE, ALIVE_PROBE)
    await until(world, world.controller(), lambda: states(world, ep) == [ReplicaState.STARTING])
    [starting] = world.replicas(ep)
    assert starting.handle is not None
    world.runtime.set_probe(starting.handle, "ready", False)
    probes.verdict(starting, specs)
    await probes.wait()
    assert news == [], "still loading: nothing to act on"

    world.runtime.set_probe(starting.handle, "ready", True)
    world.clock.advance(1)
    probes.verdict(starting, specs)
    await probes.wait()
    assert news == [1], "readiness passed: counted now, not a tick later"

    ready = starting.model_copy(update={"state": ReplicaState.READY})
    world.clock.advance(1)
    probes.verdict(ready, specs)
    await probes.wait()
    assert news == [1], "a READY replica passing its probes is no news"
    world.runtime.set_probe(starting.handle, "alive", False)
    world.clock.advance(1)
    probes.verdict(ready, specs)
    await probes.wait()
    assert news == [1, 1]
    await probes.close()
