"""The phase a user sees for an endpoint, from its desired state and its replicas."""

from __future__ import annotations

import pytest

from modelport.domain.decisions import ReplicaReason
from modelport.domain.phases import derive_phase, replica_counts
from modelport.domain.specs import AutoscalePolicy
from modelport.domain.states import DesiredState, EndpointPhase
from modelport.domain.states import ReplicaState as S
from tests.unit.domain.records import endpoint, replica

CAPACITY = ReplicaReason.INSUFFICIENT_CAPACITY
TO_ZERO = AutoscalePolicy(enabled=True, min_replicas=0, max_replicas=3)


def test_delete_wanted_is_deleting_whatever_the_replicas():
    ep = endpoint(2, desired=DesiredState.DELETED)
    assert derive_phase(ep, []) is EndpointPhase.DELETING
    assert derive_phase(ep, [replica(1, S.READY)]) is EndpointPhase.DELETING


@pytest.mark.parametrize("live", [S.STARTING, S.READY, S.DRAINING])
def test_stop_wanted_is_stopping_while_a_process_may_live(live: S):
    ep = endpoint(1, desired=DesiredState.STOPPED)
    assert derive_phase(ep, [replica(1, live)]) is EndpointPhase.STOPPING


@pytest.mark.parametrize("gone", [S.PENDING, S.FAILED, S.STOPPED])
def test_stop_wanted_is_stopped_once_nothing_lives(gone: S):
    ep = endpoint(1, desired=DesiredState.STOPPED)
    assert derive_phase(ep, [replica(1, gone)]) is EndpointPhase.STOPPED
    assert derive_phase(ep, []) is EndpointPhase.STOPPED


def test_all_wanted_ready_is_ready():
    ep = endpoint(2)
    assert derive_phase(ep, [replica(1, S.READY), replica(2, S.READY)]) is EndpointPhase.READY


def test_zero_replicas_wanted_and_none_there_is_ready():
    assert derive_phase(endpoint(0), []) is EndpointPhase.READY


def test_older_generation_present_is_updating_even_if_enough_are_ready():
    ep = endpoint(1, generation=2)
    reps = [replica(1, S.READY, generation=1), replica(2, S.READY, generation=2)]
    assert derive_phase(ep, reps) is EndpointPhase.UPDATING


def test_stopped_older_replicas_do_not_count():
    ep = endpoint(1, generation=2)
    reps = [replica(1, S.STOPPED, generation=1), replica(2, S.READY, generation=2)]
    assert derive_phase(ep, reps) is EndpointPhase.READY


def test_some_ready_is_degraded():
    ep = endpoint(2)
    assert derive_phase(ep, [replica(1, S.READY), replica(2, S.FAILED)]) is EndpointPhase.DEGRADED
    assert derive_phase(ep, [replica(1, S.READY)]) is EndpointPhase.DEGRADED


def test_nothing_ready_and_a_failure_is_failed():
    ep = endpoint(2)
    assert derive_phase(ep, [replica(1, S.FAILED), replica(2, S.STARTING)]) is EndpointPhase.FAILED


def test_crash_looping_replica_waiting_to_restart_is_failed():
    ep = endpoint(1)
    assert derive_phase(ep, [replica(1, S.PENDING, restart_count=3)]) is EndpointPhase.FAILED


def test_all_pending_for_capacity_is_pending():
    ep = endpoint(2, gpus=1)
    reps = [replica(1, S.PENDING, reason=CAPACITY), replica(2, S.PENDING, reason=CAPACITY)]
    assert derive_phase(ep, reps) is EndpointPhase.PENDING


def test_pending_for_other_reasons_is_deploying():
    ep = endpoint(2)
    reps = [replica(1, S.PENDING, reason=CAPACITY), replica(2, S.PENDING)]
    assert derive_phase(ep, reps) is EndpointPhase.DEPLOYING
    assert derive_phase(ep, [replica(1, S.STARTING)]) is EndpointPhase.DEPLOYING
    assert derive_phase(ep, []) is EndpointPhase.DEPLOYING


def test_waiting_for_capacity_reads_the_reason_not_the_text():
    ep = endpoint(1, gpus=1)
    deferred = replica(
        1, S.PENDING, reason=ReplicaReason.LAUNCH_DEFERRED, detail="InsufficientCapacity: soon"
    )
    assert derive_phase(ep, [deferred]) is EndpointPhase.DEPLOYING
    held = replica(1, S.PENDING, reason=CAPACITY, detail="needs 1x H100-80GB; this host has none")
    assert derive_phase(ep, [held]) is EndpointPhase.PENDING


def test_autoscaled_to_zero_with_nothing_alive_is_idle():
    ep = endpoint(1, autoscale=TO_ZERO, scale_target=0)
    assert ep.wanted_replicas == 0
    assert derive_phase(ep, []) is EndpointPhase.IDLE
    # A replica still on its way out keeps the phase honest until it is gone.
    assert derive_phase(ep, [replica(1, S.DRAINING)]) is not EndpointPhase.IDLE


@pytest.mark.parametrize(
    ("policy", "target"),
    [
        (TO_ZERO, 1),  # woken: one replica wanted
        (TO_ZERO, None),  # no decision yet: the spec's count (1) is wanted
        (AutoscalePolicy(enabled=True, min_replicas=1, max_replicas=3), 0),  # never below 1
        (AutoscalePolicy(enabled=False, min_replicas=0), 0),  # autoscaling off: spec's count
    ],
)
def test_not_idle_unless_the_autoscaler_took_it_to_zero(
    policy: AutoscalePolicy, target: int | None
):
    ep = endpoint(1, autoscale=policy, scale_target=target)
    assert derive_phase(ep, [replica(1, S.READY)]) is EndpointPhase.READY
    assert derive_phase(ep, []) is EndpointPhase.DEPLOYING


def test_zero_replicas_by_hand_is_ready_not_idle():
    # Nothing wakes an endpoint its owner set to zero replicas: it is not asleep.
    assert derive_phase(endpoint(0), []) is EndpointPhase.READY


def test_stopped_or_deleted_wins_over_idle():
    stopped = endpoint(1, desired=DesiredState.STOPPED, autoscale=TO_ZERO, scale_target=0)
    assert derive_phase(stopped, []) is EndpointPhase.STOPPED
    deleted = endpoint(1, desired=DesiredState.DELETED, autoscale=TO_ZERO, scale_target=0)
    assert derive_phase(deleted, []) is EndpointPhase.DELETING


def test_counts_split_replicas_by_generation_and_liveness():
    ep = endpoint(3, generation=2)
    counts = replica_counts(
        ep,
        [
            replica(1, S.READY, generation=1),
            replica(2, S.DRAINING, generation=1),
            replica(3, S.READY, generation=2),
            replica(4, S.FAILED, generation=2),
            replica(5, S.STOPPED, generation=2),
        ],
    )
    assert (counts.wanted, counts.ready, counts.current, counts.older) == (3, 1, 2, 2)
    assert (counts.live, counts.failing, counts.waiting_for_capacity) == (3, 1, 0)
