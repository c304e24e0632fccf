"""`cpu` autoscaling rules: the runtime's CPU-seconds counters turned into percent per replica
(CpuMeter), and the autoscaler acting on them in the controller loop (real SQLite store,
FakeRuntime whose processes "burn" CPU seconds, FakeClock)."""

from __future__ import annotations

import pytest

from modelport.clock import FakeClock
from modelport.controller.engine_metrics import CPU_GAUGE, CpuMeter, EngineSample
from modelport.controller.loop import Controller
from modelport.domain.launch import LaunchPlan
from modelport.domain.records import Endpoint, ReplicaHandle
from modelport.domain.specs import ProbeSpec
from modelport.domain.states import ReplicaState
from modelport.runtime.fake import FakeRuntime
from tests.unit.controller.conftest import World
from tests.unit.controller.test_autoscale import Load, controller, live, scaled, target
from tests.unit.controller.test_loop import all_ready, until

POLICY = {
    "enabled": True,
    "min_replicas": 1,
    "max_replicas": 3,
    "stability_period_seconds": 5,
    "rules": [
        {
            "metric": "cpu",
            "value": 50,  # percent of the replica's cores
            "window_seconds": 2,
            "watch_period_seconds": 2,
            "granularity_seconds": 1,
        }
    ],
}


# --- CpuMeter -------------------------------------------------------------------------------


async def meter_world() -> tuple[FakeRuntime, FakeClock, CpuMeter, list[EngineSample]]:
    runtime, clock = FakeRuntime(), FakeClock()
    seen: list[EngineSample] = []
    return runtime, clock, CpuMeter(clock, runtime, seen.append, fresh=3.0), seen


async def a_process(runtime: FakeRuntime) -> ReplicaHandle:
    probe = ProbeSpec()
    plan = LaunchPlan(argv=["x"], host="127.0.0.1", port=1, readiness=probe, liveness=probe)
    return await runtime.start("r", plan)


async def test_the_percent_is_of_the_cores_the_replica_is_given() -> None:
    runtime, clock, meter, seen = await meter_world()
    handle = await a_process(runtime)
    runtime.burn(handle, 3.0)  # what it used before: not load now
    await meter.sample(7, [(1, handle)], cores=2)
    assert seen == [], "a first reading is only a baseline"

    clock.advance(2)
    runtime.burn(handle, 1.0)  # 1 CPU second in 2 s on 2 cores: a quarter of what it has
    await meter.sample(7, [(1, handle)], cores=2)
    assert seen == [EngineSample("7", "1", CPU_GAUGE, clock.monotonic(), 25.0)]

    clock.advance(1)
    runtime.burn(handle, 1.5)  # 1.5 cores busy on a 1-core replica
    await meter.sample(7, [(1, handle)], cores=1)
    assert seen[-1].value == 150.0


async def test_unmeasured_restarted_or_too_close_readings_give_nothing() -> None:
    runtime, clock, meter, seen = await meter_world()
    unmeasured = await a_process(runtime)  # the runtime cannot tell its CPU (None)
    handle = await a_process(runtime)
    runtime.burn(handle, 1.0)
    await meter.sample(7, [(1, unmeasured), (2, handle)], cores=1)
    clock.advance(1)
    runtime.burn(handle, 0.5)
    await meter.sample(7, [(1, unmeasured), (2, handle)], cores=1)
    assert [(s.replica, s.value) for s in seen] == [("2", 50.0)], "not 0 for replica 1"
    assert meter.blind_within(7, 0.0), "replica 1's load is not in the total"
    clock.advance(1)
    runtime.burn(handle, 0.5)
    await meter.sample(7, [(2, handle)], cores=1)
    assert not meter.blind_within(7, 0.5) and meter.blind_within(7, 1.0)

    clock.advance(0.1)  # a poked tick right after: too short a span to measure
    runtime.burn(handle, 0.1)
    await meter.sample(7, [(2, handle)], cores=1)
    assert len(seen) == 2
    clock.advance(0.9)  # measured from the older baseline: 0.5 s over 1 s
    runtime.burn(handle, 0.4)
    await meter.sample(7, [(2, handle)], cores=1)
    assert seen[-1].value == 50.0

    restarted = await a_process(runtime)  # the same replica, a new process: a new counter
    runtime.burn(restarted, 0.2)
    clock.advance(1)
    await meter.sample(7, [(2, restarted)], cores=1)
    assert len(seen) == 3, "a restart is a new baseline, not -2.3 s of use"


# --- the autoscaler ---------------------------------------------------------------------------


class Burner:
    """Spreads `load` cores of work evenly over the endpoint's READY replicas between ticks,
    as requests balanced over them would."""

    def __init__(self, world: World, endpoint: Endpoint) -> None:
        self.world, self.endpoint, self.load = world, endpoint, 0.0

    def run(self, seconds: float) -> None:
        ready = [r for r in self.world.replicas(self.endpoint) if r.state is ReplicaState.READY]
        for replica in ready:
            assert replica.handle is not None
            self.world.runtime.burn(replica.handle, self.load * seconds / len(ready))


async def ticks(world: World, ctl: Controller, burner: Burner, count: int) -> None:
    for _ in range(count):
        await ctl.tick()
        await ctl.wait_for_probes()
        world.clock.advance(1.0)
        burner.run(1.0)


async def test_cpu_load_scales_up_and_idle_scales_down_after_the_stability_period(
    world: World,
) -> None:
    ep = world.create(replicas=1, autoscale=POLICY)
    burner = Burner(world, ep)
    ctl = controller(world, Load())
    await until(world, ctl, all_ready(world, ep, 1))
    await ticks(world, ctl, burner, 3)
    assert scaled(world, ep) == [], "idle at the minimum: nothing to do"

    burner.load = 0.9  # 90 % of its one core, target 50 %
    for _ in range(10):
        await ticks(world, ctl, burner, 1)
        if (target(world, ep) or 1) != 1:
            break
    assert target(world, ep) == 2
    [up] = scaled(world, ep)
    assert up.message.startswith("scale_up: cpu ") and up.message.endswith("1 -> 2")

    await until(world, ctl, all_ready(world, ep, 2))
    await ticks(world, ctl, burner, 8)  # 45 % each: within the band
    assert len(scaled(world, ep)) == 1

    burner.load = 0.0
    for _ in range(20):
        await ticks(world, ctl, burner, 1)
        if target(world, ep) == 1:
            break
    assert target(world, ep) == 1
    down = scaled(world, ep)[-1]
    assert down.message.startswith("scale_down: cpu peak ") and down.message.endswith("2 -> 1")
    assert (down.created_at - up.created_at).total_seconds() >= 5, "stability period"
    await until(world, ctl, lambda: live(world, ep) == [ReplicaState.READY])


@pytest.mark.parametrize(("cores", "wanted"), [(4, 1), (2, 2), (1, 3)])
async def test_the_percent_is_of_the_cores_in_the_spec(
    world: World, cores: int, wanted: int
) -> None:
    """1.8 busy cores are 45 % of 4 (under the 50 % target), 90 % of 2 (two replicas), 180 %
    of 1 (a spike: as many as allowed)."""
    ep = world.create(replicas=1, autoscale=POLICY, resources={"cpu": cores})
    burner = Burner(world, ep)
    ctl = controller(world, Load())
    await until(world, ctl, all_ready(world, ep, 1))
    burner.load = 1.8
    await ticks(world, ctl, burner, 6)
    assert (target(world, ep) or 1) == wanted
    assert len(scaled(world, ep)) == (wanted != 1)


async def test_a_runtime_that_cannot_measure_cpu_never_scales_down_for_it(world: World) -> None:
    ep = world.create(replicas=3, autoscale=POLICY)
    ctl = controller(world, Load())  # FakeRuntime processes report no CPU unless burned
    await until(world, ctl, all_ready(world, ep, 3))
    await world.ticks(ctl, 15)  # 3 stability periods, and not one reading
    assert scaled(world, ep) == [] and target(world, ep) in (None, 3)
    assert len(live(world, ep)) == 3


async def test_measured_idle_replicas_do_scale_down(world: World) -> None:
    """The same endpoint, with a runtime that measures: 0 % is a reading, and acts."""
    ep = world.create(replicas=3, autoscale=POLICY)
    burner = Burner(world, ep)
    ctl = controller(world, Load())
    await until(world, ctl, all_ready(world, ep, 3))
    burner.run(0.0)  # every READY process now reports a counter (at 0 s)
    for _ in range(15):
        await ticks(world, ctl, burner, 1)
        if target(world, ep) == 1:
            break
    assert target(world, ep) == 1
    assert scaled(world, ep)[-1].message.startswith("scale_down: cpu peak 0/replica < target 50")
