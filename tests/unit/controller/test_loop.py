"""The controller loop end to end on a real store: lifecycle, crashes, probes, rollouts, stop,
delete, adoption after a restart, per-endpoint isolation, capacity and the leader lease."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from modelport.controller.loop import Controller
from modelport.domain.errors import NotFound, PermanentError, TemporaryError
from modelport.domain.launch import LaunchPlan
from modelport.domain.phases import derive_phase
from modelport.domain.records import Endpoint, ReplicaHandle
from modelport.domain.specs import Framework
from modelport.domain.states import DesiredState, EndpointPhase, ReplicaState
from tests.unit.controller.conftest import GatedRuntime, StubEngine, World

STARTING = ReplicaState.STARTING


async def until(world: World, controller: Controller, done: Callable[[], bool], limit: int = 40):
    for _ in range(limit):
        if done():
            return
        await controller.tick()
        await controller.wait_for_probes()  # what it started: the next tick counts it
        world.clock.advance(1.0)
    raise AssertionError("condition not reached")


def states(world: World, endpoint: Endpoint) -> list[ReplicaState]:
    return [r.state for r in world.replicas(endpoint)]


def all_ready(world: World, endpoint: Endpoint, count: int) -> Callable[[], bool]:
    return lambda: states(world, endpoint) == [ReplicaState.READY] * count


async def test_a_new_endpoint_gets_its_replicas_started_then_ready(world: World):
    ep = world.create(replicas=2, env=[{"name": "HF_TOKEN", "value": "s3cret", "secret": True}])
    ctl = world.controller()
    await ctl.tick()
    assert states(world, ep) == [ReplicaState.PENDING] * 2
    world.clock.advance(1)
    await ctl.tick()
    assert states(world, ep) == [ReplicaState.STARTING] * 2
    assert len(world.runtime.running()) == 2
    world.clock.advance(1)
    await ctl.tick()  # starts the readiness probes; the tick does not wait for them
    await ctl.wait_for_probes()
    assert states(world, ep) == [ReplicaState.STARTING] * 2
    world.clock.advance(1)
    await ctl.tick()  # counts their outcomes
    assert states(world, ep) == [ReplicaState.READY] * 2
    assert derive_phase(world.store.get_endpoint_any_project(ep.id), world.replicas(ep)) is (
        EndpointPhase.READY
    )
    reasons = world.reasons(ep)
    assert reasons.count("ReplicaCreated") == 2
    assert reasons.count("ReplicaStarting") == 2
    assert reasons.count("ReplicaReady") == 2
    # The engine gets the secret decrypted; the store keeps it encrypted.
    assert all(p.plan.env == {"HF_TOKEN": "s3cret"} for p in world.runtime.running())
    assert world.store.get_endpoint_any_project(ep.id).spec.env[0].value != "s3cret"
    first = world.runtime.running()[0]
    assert first.key.startswith("chat-r") and first.key.endswith("-g1")


async def test_a_crashed_replica_restarts_after_growing_capped_delays(world: World):
    ep = world.create(replicas=1)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, ep, 1))
    delays = []
    for _ in range(5):
        [replica] = world.replicas(ep)
        assert replica.handle is not None
        world.runtime.crash(replica.handle, exit_code=-9)
        await ctl.tick()
        [replica] = world.replicas(ep)
        assert replica.state is ReplicaState.FAILED
        await ctl.tick()
        [replica] = world.replicas(ep)
        assert replica.state is ReplicaState.PENDING
        assert replica.next_attempt_at is not None
        delay = (replica.next_attempt_at - replica.state_changed_at).total_seconds()
        delays.append(delay)
        world.clock.advance(delay - 0.5)
        await ctl.tick()
        assert states(world, ep) == [ReplicaState.PENDING], "not before the backoff passed"
        world.clock.advance(0.5)
        await ctl.tick()
        assert states(world, ep) == [ReplicaState.STARTING]
    assert delays == [1, 2, 4, 8, 8]
    assert len(world.runtime.start_calls) == 6
    events = world.store.list_events(ep.id)
    crashed = [e.message for e in events if e.reason == "ReplicaCrashed"]
    assert crashed[0].endswith("crashed (exit code -9); restarting in 1s")
    assert crashed[-1].endswith("restarting in 8s")
    assert [e.reason for e in events].count("RestartScheduled") == 5


async def test_failed_liveness_kills_and_restarts_the_replica(world: World):
    ep = world.create(replicas=1)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, ep, 1))
    [replica] = world.replicas(ep)
    assert replica.handle is not None
    world.runtime.set_probe(replica.handle, "alive", ok=False)
    # 3 failures in a row (each counted the tick after it ran), then the kill
    await until(world, ctl, lambda: states(world, ep) == [ReplicaState.FAILED], limit=6)
    assert replica.handle in world.runtime.stop_calls, "the hung process was killed"
    assert "LivenessFailed" in world.reasons(ep)
    await until(world, ctl, all_ready(world, ep, 1))
    [restarted] = world.replicas(ep)
    assert restarted.id == replica.id and restarted.restart_count == 1
    assert restarted.handle != replica.handle


async def test_lost_readiness_takes_a_replica_out_of_traffic_without_killing_it(world: World):
    ep = world.create(replicas=1)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, ep, 1))
    [replica] = world.replicas(ep)
    assert replica.handle is not None
    world.runtime.set_probe(replica.handle, "ready", ok=False)
    await until(world, ctl, lambda: states(world, ep) == [ReplicaState.STARTING], limit=5)
    world.runtime.set_probe(replica.handle, "ready", ok=True)
    await until(world, ctl, all_ready(world, ep, 1))
    assert world.runtime.stop_calls == []
    assert world.runtime.start_calls == [world.runtime.start_calls[0]]
    assert "ReplicaNotReady" in world.reasons(ep)


async def test_a_patch_rolls_one_replica_at_a_time_never_below_the_wanted_ready(world: World):
    ep = world.create(replicas=2)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, ep, 2))
    old_pids = {p.handle.pid for p in world.runtime.running()}
    world.store.update_endpoint(ep.id, expected_generation=1, bump_generation=True)

    def rolled() -> bool:
        reps = world.replicas(ep)
        return len(reps) == 2 and all(
            r.generation == 2 and r.state is ReplicaState.READY for r in reps
        )

    for _ in range(40):
        if rolled():
            break
        await ctl.tick()
        world.clock.advance(0.5)
        reps = world.replicas(ep)
        assert sum(r.state is ReplicaState.READY for r in reps) >= 2
        assert sum(r.state is not ReplicaState.DRAINING for r in reps) <= 3
    assert rolled()
    assert not old_pids & {p.handle.pid for p in world.runtime.running()}
    assert len(world.runtime.running()) == 2
    reasons = world.reasons(ep)
    assert reasons.count("RolloutStarted") == 1
    assert reasons.count("RolloutComplete") == 1
    assert reasons.count("ReplicaDraining") == 2


async def test_stop_drains_and_stops_everything_and_start_brings_it_back(world: World):
    ep = world.create(replicas=2)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, ep, 2))
    world.store.update_endpoint(ep.id, expected_generation=None, desired_state=DesiredState.STOPPED)
    await ctl.tick()
    assert states(world, ep) == [ReplicaState.DRAINING] * 2
    await until(world, ctl, lambda: world.replicas(ep) == [])
    assert world.runtime.running() == []
    stopped = world.store.get_endpoint_any_project(ep.id)
    assert derive_phase(stopped, []) is EndpointPhase.STOPPED
    assert world.reasons(ep).count("ReplicaStopped") == 2

    world.store.update_endpoint(ep.id, expected_generation=None, desired_state=DesiredState.RUNNING)
    await until(world, ctl, all_ready(world, ep, 2))
    assert len(world.runtime.running()) == 2


async def test_waits_for_in_flight_requests_before_stopping_a_draining_replica(world: World):
    ep = world.create(replicas=1)
    inflight = {"count": 3}
    ctl = Controller(
        world.store,
        world.runtime,
        world.box,
        world.clock,
        world.settings,
        inflight=lambda _replica_id: inflight["count"],
        adapters=world.adapter,
    )
    await until(world, ctl, all_ready(world, ep, 1))
    world.store.update_endpoint(ep.id, expected_generation=None, desired_state=DesiredState.STOPPED)
    await world.ticks(ctl, 10)
    assert states(world, ep) == [ReplicaState.DRAINING]
    inflight["count"] = 0
    await ctl.tick()  # begins the stop in the background
    await ctl.wait_for_stops()
    await ctl.tick()  # sees the process gone: the record goes
    assert world.replicas(ep) == []


async def test_delete_removes_replicas_processes_and_the_endpoint(world: World):
    ep = world.create(replicas=2)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, ep, 2))
    world.store.update_endpoint(ep.id, expected_generation=None, desired_state=DesiredState.DELETED)

    def gone() -> bool:
        try:
            world.store.get_endpoint_any_project(ep.id)
        except NotFound:
            return True
        return False

    await until(world, ctl, gone)
    assert world.runtime.running() == []
    assert world.store.list_replicas(include_stopped=True) == []


async def test_a_new_controller_adopts_running_replicas_without_restarting_them(world: World):
    ep = world.create(replicas=3)
    first = world.controller("first")
    await until(world, first, all_ready(world, ep, 3))
    await first.shutdown()
    before = {r.id: r.handle for r in world.replicas(ep)}
    starts = len(world.runtime.start_calls)
    # While the control plane was down, one replica's process vanished.
    vanished_id, vanished_handle = next(iter(before.items()))
    assert vanished_handle is not None
    world.runtime.vanish(vanished_handle)

    second = world.controller("second")
    await world.ticks(second, 6)
    after = {r.id: r.handle for r in world.replicas(ep)}
    assert states(world, ep) == [ReplicaState.READY] * 3
    assert {k: v for k, v in after.items() if k != vanished_id} == {
        k: v for k, v in before.items() if k != vanished_id
    }, "the running replicas were kept as they were"
    assert after[vanished_id] != vanished_handle
    assert len(world.runtime.start_calls) == starts + 1, "only the vanished one was restarted"
    assert world.runtime.stop_calls == []


async def test_an_endpoint_whose_engine_raises_does_not_stop_the_others(
    world: World, caplog: pytest.LogCaptureFixture
):
    world.engines[Framework.VLLM] = StubEngine(Framework.VLLM, error=RuntimeError("adapter bug"))
    broken = world.create("broken", replicas=1, framework=Framework.VLLM, model={"hf_id": "x/y"})
    healthy = world.create("healthy", replicas=1)
    ctl = world.controller()
    with caplog.at_level(logging.ERROR, logger="modelport.controller.loop"):
        await until(world, ctl, all_ready(world, healthy, 1))
        await world.ticks(ctl, 5)
    assert states(world, broken) == [ReplicaState.PENDING]
    events = [e for e in world.store.list_events(broken.id) if e.reason == "ReconcileError"]
    assert len(events) == 1, "one event, not one per tick"
    assert "RuntimeError: adapter bug" in events[0].message
    logged = [r for r in caplog.records if r.exc_info]
    assert len(logged) == 1 and "broken" in logged[0].getMessage()


async def test_a_replica_needing_absent_gpus_stays_pending_with_one_event(world: World):
    ep = world.create(replicas=1, resources={"gpu_count": 1, "gpu_type": "H100-80GB"})
    other = world.create("cpu", replicas=1)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, other, 1))
    await world.ticks(ctl, 5)
    assert states(world, ep) == [ReplicaState.PENDING]
    events = [e for e in world.store.list_events(ep.id) if e.reason == "InsufficientCapacity"]
    assert [e.message for e in events] == [
        f"replica {world.replicas(ep)[0].id} waits for capacity: "
        "needs 1x H100-80GB; this host has none"
    ]
    endpoint = world.store.get_endpoint_any_project(ep.id)
    assert derive_phase(endpoint, world.replicas(ep)) is EndpointPhase.PENDING
    assert world.runtime.start_calls == [world.runtime.start_calls[0]], "only the cpu endpoint"

    world.runtime.set_gpus({"H100-80GB": 1})
    await until(world, ctl, all_ready(world, ep, 1))


def capacity_messages(world: World, endpoint: Endpoint) -> list[str]:
    return [
        e.message
        for e in world.store.list_events(endpoint.id, limit=10_000)
        if e.reason == "InsufficientCapacity"
    ]


async def test_the_capacity_event_says_what_the_host_has_and_follows_the_inventory(world: World):
    world.runtime.set_gpus({"A100": 2})
    ep = world.create("h100", replicas=1, resources={"gpu_count": 1, "gpu_type": "H100-80GB"})
    cpu = world.create("cpu", replicas=1)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, cpu, 1))
    await world.ticks(ctl, 3)
    replica_id = world.replicas(ep)[0].id
    assert capacity_messages(world, ep) == [
        f"replica {replica_id} waits for capacity: "
        "needs 1x H100-80GB; this host has none (it has 2x A100)"
    ]
    world.runtime.set_gpus({"A100": 2, "L4": 1})  # still no H100: one new event, then quiet
    await world.ticks(ctl, 3)
    assert capacity_messages(world, ep)[1:] == [
        f"replica {replica_id} waits for capacity: "
        "needs 1x H100-80GB; this host has none (it has 2x A100, 1x L4)"
    ]
    assert states(world, ep) == [ReplicaState.PENDING]
    world.runtime.set_gpus({"A100": 2, "H100-80GB": 1})
    await until(world, ctl, all_ready(world, ep, 1))
    assert states(world, cpu) == [ReplicaState.READY]


async def test_gpus_held_by_one_endpoint_pass_to_a_waiting_one_when_it_stops(world: World):
    world.runtime.set_gpus({"L4": 1})
    first = world.create("first", replicas=1, resources={"gpu_count": 1, "gpu_type": "L4"})
    ctl = world.controller()
    await until(world, ctl, all_ready(world, first, 1))
    second = world.create("second", replicas=1, resources={"gpu_count": 1, "gpu_type": "L4"})
    await world.ticks(ctl, 3)
    assert states(world, second) == [ReplicaState.PENDING]
    assert [m.split(": ", 1)[1] for m in capacity_messages(world, second)] == [
        "needs 1x L4; 0 of 1 free"
    ]
    world.store.update_endpoint(
        first.id, expected_generation=None, desired_state=DesiredState.STOPPED
    )
    await until(world, ctl, all_ready(world, second, 1))
    assert [p.key for p in world.runtime.running()] == [world.runtime.start_calls[-1]]


async def test_an_unavailable_engine_fails_the_replica_and_retries_with_backoff(world: World):
    world.engines[Framework.CUSTOM].missing = "the engine binary is not installed"
    ep = world.create(replicas=1)
    ctl = world.controller()
    await world.ticks(ctl, 2)
    [replica] = world.replicas(ep)
    assert replica.state is ReplicaState.FAILED
    assert "the engine binary is not installed" in replica.state_reason
    assert "EngineUnavailable" in world.reasons(ep)
    world.engines[Framework.CUSTOM].missing = None
    await until(world, ctl, all_ready(world, ep, 1))


async def test_launch_errors_from_the_runtime(world: World):
    ep = world.create(replicas=1)
    ctl = world.controller()
    world.runtime.start_error = TemporaryError("ports exhausted", delay=5)
    await world.ticks(ctl, 2)
    [replica] = world.replicas(ep)
    assert replica.state is ReplicaState.PENDING and replica.restart_count == 0
    assert replica.next_attempt_at is not None
    assert world.reasons(ep).count("LaunchDeferred") == 1

    world.runtime.start_error = PermanentError("no such binary")
    await until(world, ctl, lambda: states(world, ep) == [ReplicaState.FAILED])
    assert "LaunchFailed" in world.reasons(ep)

    world.runtime.start_error = None
    await until(world, ctl, all_ready(world, ep, 1))


async def test_only_the_lease_holder_acts(world: World):
    ep = world.create(replicas=1)
    a, b = world.controller("a"), world.controller("b")
    assert await a.tick_if_leader()
    assert not await b.tick_if_leader()
    assert len(world.replicas(ep)) == 1, "b created nothing"

    stop = asyncio.Event()
    world.settings.reconcile_interval = 0.01
    runner = world.controller("a")  # same holder id: renews a's lease
    task = asyncio.create_task(runner.run(stop))
    await asyncio.sleep(0.1)
    assert not await b.tick_if_leader()
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert await b.tick_if_leader(), "a released the lease on exit"


async def test_an_expired_lease_passes_to_the_other_controller(world: World):
    a, b = world.controller("a"), world.controller("b")
    assert await a.tick_if_leader()
    world.clock.advance(4)
    assert not await b.tick_if_leader()
    world.clock.advance(2)  # ttl is 5 reconcile intervals
    assert await b.tick_if_leader()


async def test_an_endpoint_can_be_deleted_even_when_its_engine_adapter_broke(world: World):
    ep = world.create(replicas=1)
    await until(world, world.controller("first"), all_ready(world, ep, 1))
    world.engines[Framework.CUSTOM].error = RuntimeError("adapter bug")
    second = world.controller("second")  # knows nothing of the launch plans
    await world.ticks(second, 1)
    assert states(world, ep) == [ReplicaState.READY]
    world.store.update_endpoint(ep.id, expected_generation=None, desired_state=DesiredState.DELETED)
    await world.ticks(second, 5)
    assert world.store.list_endpoints() == []
    assert world.runtime.running() == []


async def test_a_process_started_for_a_replica_that_moved_meanwhile_is_stopped(world: World):
    ep = world.create(replicas=1)
    ctl = world.controller()
    await ctl.tick()
    [replica] = world.replicas(ep)
    real_start = world.runtime.start

    async def start_while_someone_stops_it(key: str, plan: LaunchPlan) -> ReplicaHandle:
        world.store.transition_replica(
            replica.id,
            ReplicaState.PENDING,
            ReplicaState.STOPPED,
            detail="x",
            now=world.clock.now(),
        )
        return await real_start(key, plan)

    world.runtime.start = start_while_someone_stops_it  # type: ignore[method-assign]
    await ctl.tick()
    await ctl.wait_for_stops()  # stopped in the background: the tick did not wait for it
    assert world.runtime.running() == [], "no process is left without a record"
    assert len(world.runtime.stop_calls) == 1


async def test_the_gateway_is_told_when_a_replica_enters_or_leaves_ready(world: World):
    told: list[list[ReplicaState]] = []
    ep = world.create(replicas=1)
    ctl = Controller(
        world.store, world.runtime, world.box, world.clock, world.settings,
        holder_id="test", adapters=world.adapter,
        on_routes_changed=lambda: told.append(states(world, ep)),
    )  # fmt: skip
    await until(world, ctl, all_ready(world, ep, 1))
    assert told == [[ReplicaState.READY]]  # not once per tick: only on the change
    await ctl.tick()
    assert len(told) == 1
    world.store.update_endpoint(ep.id, expected_generation=None, desired_state=DesiredState.STOPPED)
    await until(world, ctl, lambda: ReplicaState.READY not in states(world, ep))
    assert told[-1] == [ReplicaState.DRAINING]


@pytest.mark.timeout(60)  # before probes ran in the background, a tick hung here
async def test_a_hanging_probe_of_one_endpoint_never_holds_up_another(world: World):
    runtime = world.runtime = GatedRuntime()
    runtime.hold("stuck")  # its replicas accept and never answer
    stuck = world.create("stuck", replicas=1)
    fine = world.create("fine", replicas=1)
    ctl = world.controller()
    await until(world, ctl, lambda: states(world, stuck) + states(world, fine) == [STARTING] * 2)
    [hung] = world.replicas(stuck)
    assert hung.handle is not None
    await ctl.tick()  # starts both readiness probes; the stuck one hangs
    await runtime.wait_begun(2)
    world.clock.advance(1.0)
    await ctl.tick()  # counts the fine one's
    assert states(world, fine) == [ReplicaState.READY]
    for _ in range(3):  # ticks go on while the probe hangs
        world.clock.advance(1.0)
        await ctl.tick()
    assert states(world, stuck) == [STARTING]
    assert runtime.begun_for(hung.handle, "ready") == 1, "one attempt in flight, never stacked"
    runtime.gate.set()
    await until(world, ctl, all_ready(world, stuck, 1))
