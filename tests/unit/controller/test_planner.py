"""The planner as pure code: replicas + observations in, decisions out. No store, no runtime."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from modelport.controller.capacity import GpuPool
from modelport.controller.facts import EndpointObservation, PlannerPolicy, ReplicaObservation
from modelport.controller.planner import plan
from modelport.domain.decisions import (
    CreateReplica,
    Decision,
    DeleteEndpoint,
    DrainReplica,
    FailReplica,
    HoldPending,
    LaunchReplica,
    MarkNotReady,
    MarkReady,
    ReplicaReason,
    RestartReplica,
    StopReplica,
)
from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import DesiredState
from modelport.domain.states import ReplicaState as S
from modelport.runtime.base import ProcessState, ProcessStatus
from tests.unit.domain.records import at, endpoint, replica

POLICY = PlannerPolicy(
    backoff_initial=1.0,
    backoff_max=60.0,
    drain_seconds=30.0,
    drain_min_seconds=1.0,
    startup_timeout_seconds=600.0,
)
RUNNING = ProcessStatus(state=ProcessState.RUNNING)
ALIVE = ReplicaObservation(process=RUNNING)


def exited(code: int) -> ReplicaObservation:
    return ReplicaObservation(process=ProcessStatus(state=ProcessState.EXITED, exit_code=code))


def decide(
    ep: Endpoint,
    reps: Sequence[Replica],
    seen: Mapping[int, ReplicaObservation] | None = None,
    now: float = 0.0,
    gpus: GpuPool | None = None,
) -> list[Decision]:
    observed = {r.id: ALIVE for r in reps if r.state in (S.STARTING, S.READY, S.DRAINING)}
    observed.update(seen or {})
    return plan(ep, reps, EndpointObservation(observed, gpus or GpuPool()), at(now), POLICY)


# --- replica count ------------------------------------------------------------------------


def test_creates_replicas_up_to_the_wanted_count():
    assert decide(endpoint(3), []) == [CreateReplica(1, 1)] * 3
    assert decide(endpoint(3), [replica(1, S.READY)]) == [CreateReplica(1, 1)] * 2


@pytest.mark.parametrize("state", [S.PENDING, S.STARTING, S.READY, S.FAILED])
def test_a_replica_in_any_non_final_state_counts_toward_the_wanted_count(state: S):
    assert not any(isinstance(d, CreateReplica) for d in decide(endpoint(1), [replica(1, state)]))


def test_a_draining_replica_does_not_count():
    assert CreateReplica(1, 1) in decide(endpoint(1), [replica(1, S.DRAINING)])


def test_surplus_gives_up_the_least_useful_first():
    reps = [replica(1, S.READY), replica(2, S.READY), replica(3, S.STARTING), replica(4, S.PENDING)]
    decisions = decide(endpoint(2), reps)
    assert StopReplica(4, "scaling down to 2") in decisions
    assert StopReplica(3, "scaling down to 2") in decisions
    assert not any(isinstance(d, (DrainReplica, CreateReplica)) for d in decisions)


def test_surplus_ready_replicas_drain_newest_first():
    decisions = decide(endpoint(1), [replica(1, S.READY), replica(2, S.READY)])
    assert decisions == [DrainReplica(2, "scaling down to 1")]


def test_a_retiring_replica_gets_no_other_decision():
    reps = [replica(1, S.READY), replica(2, S.READY)]
    seen = {2: ReplicaObservation(process=RUNNING, liveness_failed=True)}
    assert decide(endpoint(1), reps, seen) == [DrainReplica(2, "scaling down to 1")]


# --- rolling update -----------------------------------------------------------------------


def test_a_new_generation_starts_with_one_extra_replica():
    reps = [replica(1, S.READY), replica(2, S.READY)]
    assert decide(endpoint(2, generation=2), reps) == [CreateReplica(1, 2, starts_rollout=True)]


def test_no_old_replica_drains_while_the_new_one_is_not_ready():
    reps = [replica(1, S.READY), replica(2, S.READY), replica(3, S.STARTING, generation=2)]
    assert decide(endpoint(2, generation=2), reps) == []


def test_one_old_replica_drains_once_a_new_one_is_ready_and_the_next_new_one_starts():
    reps = [replica(1, S.READY), replica(2, S.READY), replica(3, S.READY, generation=2)]
    assert decide(endpoint(2, generation=2), reps) == [
        DrainReplica(1, "replaced by generation 2"),
        CreateReplica(1, 2),  # the draining replica no longer counts toward the surge
    ]


def test_the_next_new_replica_is_created_while_the_old_one_drains():
    reps = [
        replica(1, S.DRAINING),
        replica(2, S.READY),
        replica(3, S.READY, generation=2),
    ]
    decisions = decide(
        endpoint(2, generation=2), reps, {1: ReplicaObservation(process=RUNNING, inflight=2)}
    )
    assert decisions == [CreateReplica(1, 2)]


def test_old_replicas_that_are_not_ready_stop_right_away():
    reps = [
        replica(1, S.PENDING),
        replica(2, S.STARTING),
        replica(3, S.FAILED),
        replica(4, S.READY, generation=2),
    ]
    decisions = decide(endpoint(1, generation=2), reps)
    assert decisions == [
        StopReplica(1, "replaced by generation 2"),
        StopReplica(2, "replaced by generation 2"),
        StopReplica(3, "replaced by generation 2", completes_rollout=True),
    ]


def test_rollout_to_zero_replicas_just_retires_the_old_ones():
    reps = [replica(1, S.READY), replica(2, S.STARTING)]
    decisions = decide(endpoint(0, generation=2), reps)
    assert decisions == [
        StopReplica(2, "replaced by generation 2"),
        DrainReplica(1, "replaced by generation 2"),
    ]


def test_the_stop_of_the_last_old_replica_completes_the_rollout():
    reps = [replica(1, S.DRAINING, since=0), replica(2, S.READY, generation=2)]
    assert decide(endpoint(1, generation=2), reps, now=5) == [
        StopReplica(1, "drained", completes_rollout=True)
    ]


def _simulate(ep: Endpoint, reps: list[Replica], ticks: int) -> list[list[Replica]]:
    """Carry out every decision perfectly; STARTING replicas pass readiness on the next tick."""
    world = {r.id: r for r in reps}
    history = []
    next_id = 100
    for tick in range(ticks):
        now = at(tick)
        passing = ReplicaObservation(process=RUNNING, readiness_passed=True)
        seen = {r.id: passing for r in world.values() if r.state is S.STARTING}
        for d in decide(ep, list(world.values()), seen, now=tick):
            match d:
                case CreateReplica():
                    next_id += 1
                    world[next_id] = replica(
                        next_id, S.PENDING, generation=d.generation, since=tick
                    )
                case LaunchReplica() | MarkReady() | DrainReplica():
                    new = {LaunchReplica: S.STARTING, MarkReady: S.READY, DrainReplica: S.DRAINING}
                    changed = {"state": new[type(d)], "state_changed_at": now}
                    world[d.replica_id] = world[d.replica_id].model_copy(update=changed)
                case StopReplica():
                    del world[d.replica_id]
                case _:
                    raise AssertionError(f"unexpected {d}")
        history.append(list(world.values()))
    return history


@pytest.mark.parametrize("wanted", [1, 2, 3])
def test_a_rollout_never_has_fewer_ready_replicas_than_wanted(wanted: int):
    old = [replica(i, S.READY) for i in range(1, wanted + 1)]
    history = _simulate(endpoint(wanted, generation=2), old, ticks=10 * wanted + 10)
    for world in history:
        assert sum(r.state is S.READY for r in world) >= wanted
        assert sum(r.state is not S.DRAINING for r in world) <= wanted + 1  # surge of one
    final = history[-1]
    assert len(final) == wanted
    assert all(r.generation == 2 and r.state is S.READY for r in final)


# --- restarting one replica ---------------------------------------------------------------

RESTART = "restart requested: replaced by a fresh replica"


def marked(rep: Replica) -> Replica:
    """The replica with a user's restart request on it."""
    return rep.model_copy(update={"restart_requested_at": at(0)})


def test_a_replica_to_restart_gets_a_fresh_one_of_the_same_generation_first():
    reps = [marked(replica(1, S.READY)), replica(2, S.READY)]
    assert decide(endpoint(2), reps) == [CreateReplica(1, 1)]  # no rollout: same generation


def test_a_replica_to_restart_drains_once_its_replacement_is_ready():
    reps = [marked(replica(1, S.READY)), replica(2, S.READY), replica(3, S.STARTING)]
    assert decide(endpoint(2), reps) == []
    reps[2] = replica(3, S.READY)
    assert decide(endpoint(2), reps) == [DrainReplica(1, RESTART)]


@pytest.mark.parametrize("state", [S.PENDING, S.STARTING, S.FAILED])
def test_a_replica_to_restart_that_does_not_serve_is_stopped_and_replaced_at_once(state: S):
    reps = [marked(replica(1, state)), replica(2, S.READY)]
    assert decide(endpoint(2), reps) == [StopReplica(1, RESTART), CreateReplica(1, 1)]


@pytest.mark.parametrize("wanted", [1, 2, 3])
def test_restarting_replicas_never_leaves_fewer_ready_than_wanted(wanted: int):
    old = [replica(i, S.READY) for i in range(1, wanted + 1)]
    old[0] = marked(old[0])
    history = _simulate(endpoint(wanted), old, ticks=10)
    for world in history:
        assert sum(r.state is S.READY for r in world) >= wanted
        assert sum(r.state is not S.DRAINING for r in world) <= wanted + 1
    final = history[-1]
    assert sorted(r.id for r in final) == [r.id for r in old[1:]] + [101]  # only the marked went
    assert all(r.state is S.READY and r.restart_requested_at is None for r in final)


# --- starting -----------------------------------------------------------------------------


def test_a_replica_that_exits_while_starting_fails():
    decisions = decide(endpoint(1), [replica(7, S.STARTING)], {7: exited(1)})
    assert decisions == [
        FailReplica(
            7,
            ReplicaReason.REPLICA_CRASHED,
            "replica 7 crashed while starting (exit code 1); restarting in 1s",
        )
    ]


def test_a_vanished_process_fails_the_replica():
    seen = {7: ReplicaObservation(process=ProcessStatus(state=ProcessState.MISSING))}
    [decision] = decide(endpoint(1), [replica(7, S.READY)], seen)
    assert isinstance(decision, FailReplica) and not decision.kill
    assert "process not found" in decision.message


def test_passing_readiness_makes_a_replica_ready():
    seen = {7: ReplicaObservation(process=RUNNING, readiness_passed=True)}
    assert decide(endpoint(1), [replica(7, S.STARTING)], seen) == [MarkReady(7)]


def test_a_starting_replica_without_passing_readiness_waits():
    assert decide(endpoint(1), [replica(7, S.STARTING)], now=599) == []


def test_a_replica_not_ready_by_the_startup_timeout_is_killed():
    [decision] = decide(endpoint(1), [replica(7, S.STARTING, restart_count=2)], now=600)
    assert isinstance(decision, FailReplica)
    assert decision.reason is ReplicaReason.STARTUP_TIMEOUT and decision.kill
    assert decision.message == "replica 7 not ready after 600s; killed, restarting in 4s"


def test_nothing_is_decided_about_a_process_nobody_looked_at():
    reps = [replica(7, S.STARTING), replica(8, S.READY)]
    seen = {7: ReplicaObservation(), 8: ReplicaObservation()}
    assert decide(endpoint(2), reps, seen) == []


# --- ready --------------------------------------------------------------------------------


def test_a_ready_replica_that_crashes_fails_with_its_exit_code():
    assert decide(endpoint(1), [replica(7, S.READY, restart_count=1)], {7: exited(-9)}) == [
        FailReplica(
            7, ReplicaReason.REPLICA_CRASHED, "replica 7 crashed (exit code -9); restarting in 2s"
        )
    ]


def test_failed_liveness_kills_the_replica():
    seen = {7: ReplicaObservation(process=RUNNING, liveness_failed=True, probe_detail="GET /: 500")}
    [decision] = decide(endpoint(1), [replica(7, S.READY)], seen)
    assert decision == FailReplica(
        7,
        ReplicaReason.LIVENESS_FAILED,
        "replica 7 failed its liveness probe (GET /: 500); killed, restarting in 1s",
        kill=True,
    )


def test_failed_readiness_takes_a_ready_replica_out_of_traffic():
    seen = {7: ReplicaObservation(process=RUNNING, readiness_failed=True, probe_detail="x")}
    assert decide(endpoint(1), [replica(7, S.READY)], seen) == [
        MarkNotReady(7, "replica 7 failed its readiness probe (x)")
    ]


def test_a_healthy_ready_replica_is_left_alone():
    assert decide(endpoint(1), [replica(7, S.READY)]) == []


# --- failed and restart backoff -----------------------------------------------------------


@pytest.mark.parametrize(
    ("restarts", "delay"), [(0, 1), (1, 2), (2, 4), (5, 32), (6, 60), (7, 60), (500, 60)]
)
def test_failed_replicas_restart_after_a_capped_exponential_backoff(restarts: int, delay: float):
    decisions = decide(endpoint(1), [replica(7, S.FAILED, restart_count=restarts)], now=10)
    assert decisions == [RestartReplica(7, at(10 + delay), delay)]


def test_failed_replicas_of_an_older_generation_are_stopped():
    reps = [replica(7, S.FAILED), replica(8, S.READY, generation=2)]
    assert decide(endpoint(1, generation=2), reps) == [
        StopReplica(7, "replaced by generation 2", completes_rollout=True)
    ]


def test_surplus_failed_replicas_are_stopped_not_restarted():
    reps = [replica(7, S.READY), replica(8, S.FAILED)]
    assert decide(endpoint(1), reps) == [StopReplica(8, "scaling down to 1")]


# --- pending and capacity -----------------------------------------------------------------


def test_pending_replicas_launch_once_their_backoff_passed():
    assert decide(endpoint(1), [replica(7, S.PENDING)]) == [LaunchReplica(7)]
    assert decide(endpoint(1), [replica(7, S.PENDING, next_attempt=5)], now=4.9) == []
    assert decide(endpoint(1), [replica(7, S.PENDING, next_attempt=5)], now=5) == [LaunchReplica(7)]


def test_a_replica_needing_gpus_the_host_lacks_is_held_pending():
    ep = endpoint(1, gpus=1, gpu_type="H100-80GB")
    assert decide(ep, [replica(7, S.PENDING)]) == [
        HoldPending(7, "needs 1x H100-80GB; this host has none")
    ]


def test_holding_pending_is_said_once():
    ep = endpoint(1, gpus=1, gpu_type="H100-80GB")
    lacking = "needs 1x H100-80GB; this host has none"
    held = replica(7, S.PENDING, reason=ReplicaReason.INSUFFICIENT_CAPACITY, detail=lacking)
    assert decide(ep, [held]) == []


def test_a_new_shortfall_is_said_again():
    ep = endpoint(1, gpus=2, gpu_type="H100-80GB")
    said = "needs 1x H100-80GB; this host has none"  # before the spec asked for two
    held = replica(7, S.PENDING, reason=ReplicaReason.INSUFFICIENT_CAPACITY, detail=said)
    assert decide(ep, [held]) == [HoldPending(7, "needs 2x H100-80GB; this host has none")]
    deferred = replica(7, S.PENDING, reason=ReplicaReason.LAUNCH_DEFERRED, detail=said)
    assert decide(ep, [deferred]) == [HoldPending(7, "needs 2x H100-80GB; this host has none")]


def test_launches_within_one_plan_share_the_free_gpus():
    ep = endpoint(2, gpus=1, gpu_type="A100")
    gpus = GpuPool.of({"A100": 1})
    assert decide(ep, [replica(7, S.PENDING), replica(8, S.PENDING)], gpus=gpus) == [
        LaunchReplica(7),
        HoldPending(8, "needs 1x A100; 0 of 1 free"),
    ]


# --- draining -----------------------------------------------------------------------------


def _draining(inflight: int, now: float, process: ProcessStatus = RUNNING) -> list[Decision]:
    seen = {7: ReplicaObservation(process=process, inflight=inflight)}
    return decide(endpoint(0), [replica(7, S.DRAINING, since=0)], seen, now=now)


def test_a_draining_replica_waits_for_the_route_refresh_even_when_idle():
    assert _draining(inflight=0, now=0.5) == []
    assert _draining(inflight=0, now=1.0) == [StopReplica(7, "drained")]


def test_a_draining_replica_with_requests_in_flight_keeps_serving():
    assert _draining(inflight=3, now=29) == []


def test_a_draining_replica_is_stopped_after_the_drain_timeout_regardless():
    assert _draining(inflight=3, now=30) == [
        StopReplica(7, "drain timeout: 3 requests still in flight after 30s")
    ]


def test_a_draining_replica_whose_process_ended_is_stopped():
    gone = ProcessStatus(state=ProcessState.EXITED, exit_code=0)
    assert _draining(inflight=1, now=0, process=gone) == [StopReplica(7, "exited while draining")]


# --- stop and delete ----------------------------------------------------------------------


def test_stop_drains_ready_replicas_and_stops_the_others():
    reps = [
        replica(1, S.READY),
        replica(2, S.STARTING),
        replica(3, S.PENDING),
        replica(4, S.FAILED),
    ]
    decisions = decide(endpoint(4, desired=DesiredState.STOPPED), reps)
    assert decisions == [
        DrainReplica(1, "endpoint stopping"),
        StopReplica(2, "endpoint stopping"),
        StopReplica(3, "endpoint stopping"),
        StopReplica(4, "endpoint stopping"),
    ]


def test_a_stopped_endpoint_with_no_replicas_needs_nothing():
    assert decide(endpoint(2, desired=DesiredState.STOPPED), []) == []


def test_delete_waits_for_live_replicas_to_go():
    ep = endpoint(1, desired=DesiredState.DELETED)
    decisions = decide(ep, [replica(1, S.DRAINING, since=0)], now=0)
    assert decisions == []


def test_delete_removes_the_endpoint_once_nothing_lives():
    ep = endpoint(1, desired=DesiredState.DELETED)
    assert decide(ep, [replica(1, S.FAILED)]) == [
        StopReplica(1, "endpoint deleting"),
        DeleteEndpoint(1),
    ]
    assert decide(ep, []) == [DeleteEndpoint(1)]


# --- policy -------------------------------------------------------------------------------


def test_backoff_doubles_and_is_capped():
    policy = PlannerPolicy(backoff_initial=0.5, backoff_max=10)
    assert [policy.backoff(n) for n in range(7)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert policy.backoff(10_000) == 10
