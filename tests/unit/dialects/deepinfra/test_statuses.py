"""DeepInfra status, fail_reason and instance counts from an endpoint's phase and replicas."""

from __future__ import annotations

import pytest

from modelport.dialects.deepinfra.statuses import condition
from modelport.domain.decisions import ReplicaReason
from modelport.domain.phases import derive_phase
from modelport.domain.specs import AutoscalePolicy
from modelport.domain.states import DesiredState, ReplicaState
from tests.unit.domain.records import endpoint, replica

P, S, R, F, D = (
    ReplicaState.PENDING,
    ReplicaState.STARTING,
    ReplicaState.READY,
    ReplicaState.FAILED,
    ReplicaState.DRAINING,
)


Why = tuple[ReplicaReason, str]  # a replica's reason and detail


def shown(desired: DesiredState, wanted: int, *replicas: tuple[ReplicaState, Why, int]):
    ep = endpoint(wanted, desired=desired, generation=2)
    reps = [
        replica(i, state, reason=reason, detail=detail, generation=gen, since=i)
        for i, (state, (reason, detail), gen) in enumerate(replicas, start=1)
    ]
    return condition(derive_phase(ep, reps), reps, wanted)


RUN = DesiredState.RUNNING
W = ReplicaReason


@pytest.mark.parametrize(
    ("desired", "wanted", "replicas", "status", "running", "pending"),
    [
        # Nothing created yet: the wanted instance is already pending.
        (RUN, 1, [], "initializing", 0, 1),
        (RUN, 3, [], "initializing", 0, 3),
        (RUN, 1, [(P, (W.REPLICA_CREATED, "replica 1 created"), 2)], "initializing", 0, 1),
        (RUN, 1, [(S, (W.REPLICA_STARTING, "on 127.0.0.1:1"), 2)], "deploying", 0, 1),
        (RUN, 1, [(R, (W.REPLICA_READY, "ready"), 2)], "running", 1, 0),
        (
            RUN,
            2,
            [(R, (W.REPLICA_READY, "ready"), 2), (S, (W.REPLICA_STARTING, "x"), 2)],
            "running",
            1,
            1,
        ),
        (
            RUN,
            1,
            [(R, (W.REPLICA_READY, "ready"), 1), (S, (W.REPLICA_STARTING, "x"), 2)],
            "running",
            1,
            1,
        ),
        (
            RUN,
            1,
            [(D, (W.REPLICA_DRAINING, "x"), 1), (S, (W.REPLICA_STARTING, "x"), 2)],
            "deploying",
            0,
            1,
        ),
        (RUN, 1, [(F, (W.REPLICA_CRASHED, "exit code 1"), 2)], "failed", 0, 1),
        # Stop asked, a replica still alive (it may answer): not "stopped" yet.
        (DesiredState.STOPPED, 1, [(R, (W.REPLICA_READY, "ready"), 2)], "running", 1, 0),
        (DesiredState.STOPPED, 1, [(D, (W.REPLICA_DRAINING, "stop"), 2)], "running", 1, 0),
        (DesiredState.STOPPED, 1, [(S, (W.REPLICA_STARTING, "x"), 2)], "running", 1, 0),
        (DesiredState.STOPPED, 1, [(P, (W.REPLICA_CREATED, "x"), 2)], "stopped", 0, 0),
        (DesiredState.STOPPED, 1, [], "stopped", 0, 0),
        (DesiredState.DELETED, 1, [(R, (W.REPLICA_READY, "ready"), 2)], "deleted", 1, 0),
    ],
)
def test_statuses(desired, wanted, replicas, status, running, pending):
    shown_now = shown(desired, wanted, *replicas)
    assert shown_now.status.value == status
    assert (shown_now.instances.running, shown_now.instances.pending) == (running, pending)


def test_waiting_for_gpus_is_initializing_with_what_is_missing():
    why = (W.INSUFFICIENT_CAPACITY, "needs 1x H100-80GB; this host has none")
    now = shown(RUN, 1, (P, why, 2))
    assert now.status.value == "initializing"
    assert now.fail_reason == "InsufficientCapacity: needs 1x H100-80GB; this host has none"
    assert now.instances.pending == 1


def test_fail_reason_is_the_latest_problem_and_empty_when_serving():
    crashed = (W.REPLICA_CRASHED, "replica 1 exited with code 1")
    timeout = (W.STARTUP_TIMEOUT, "replica 2 not ready in 600s")
    latest = shown(RUN, 2, (F, crashed, 2), (F, timeout, 2)).fail_reason
    assert latest == "StartupTimeout: replica 2 not ready in 600s"
    assert shown(RUN, 1, (P, (W.REPLICA_CREATED, "replica 1 created"), 2)).fail_reason == ""
    assert shown(RUN, 2, (R, (W.REPLICA_READY, "ok"), 2), (F, crashed, 2)).fail_reason == ""
    assert shown(DesiredState.STOPPED, 1, (F, crashed, 2)).fail_reason == ""


def test_autoscaled_to_zero_is_running_with_no_instances():
    policy = AutoscalePolicy(enabled=True, min_replicas=0, max_replicas=2)
    asleep = endpoint(1, autoscale=policy, scale_target=0)
    now = condition(derive_phase(asleep, []), [], asleep.wanted_replicas)
    assert (now.status.value, now.fail_reason) == ("running", "")
    assert (now.instances.running, now.instances.pending) == (0, 0)
