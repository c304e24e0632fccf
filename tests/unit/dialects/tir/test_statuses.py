"""TIR's status (Waiting, Running, Idle, Terminating, Stopped, Failed) from an endpoint's phase,
itself derived from its desired state and replicas."""

from __future__ import annotations

import pytest

from modelport.dialects.tir.statuses import TirStatus, tir_status
from modelport.domain.decisions import ReplicaReason
from modelport.domain.phases import derive_phase
from modelport.domain.specs import AutoscalePolicy
from modelport.domain.states import DesiredState, EndpointPhase, ReplicaState
from tests.unit.domain.records import endpoint, replica

P, S, R, F, D = (
    ReplicaState.PENDING,
    ReplicaState.STARTING,
    ReplicaState.READY,
    ReplicaState.FAILED,
    ReplicaState.DRAINING,
)
TO_ZERO = AutoscalePolicy(enabled=True, min_replicas=0, max_replicas=2)
RUN, STOP, DEL = DesiredState.RUNNING, DesiredState.STOPPED, DesiredState.DELETED
W = ReplicaReason
CAPACITY = W.INSUFFICIENT_CAPACITY


def shown(
    desired: DesiredState, wanted: int, *replicas: tuple[ReplicaState, int, ReplicaReason]
) -> str:
    ep = endpoint(wanted, desired=desired, generation=2)
    reps = [
        replica(i, state, generation=gen, reason=reason, restart_count=int(state is F))
        for i, (state, gen, reason) in enumerate(replicas, start=1)
    ]
    running_wanted = wanted if desired is RUN else 0
    return tir_status(derive_phase(ep, reps), running_wanted).value


@pytest.mark.parametrize(
    ("desired", "wanted", "replicas", "status"),
    [
        (RUN, 1, [], "Waiting"),
        (RUN, 1, [(P, 2, W.REPLICA_CREATED)], "Waiting"),
        (RUN, 1, [(P, 2, CAPACITY)], "Waiting"),
        (RUN, 1, [(S, 2, W.REPLICA_STARTING)], "Waiting"),
        (RUN, 1, [(R, 2, W.REPLICA_READY)], "Running"),
        (RUN, 2, [(R, 2, W.REPLICA_READY), (S, 2, W.REPLICA_STARTING)], "Running"),
        (RUN, 1, [(R, 1, W.REPLICA_READY), (S, 2, W.REPLICA_STARTING)], "Running"),
        (RUN, 0, [], "Idle"),
        (RUN, 1, [(F, 2, W.REPLICA_CRASHED)], "Failed"),
        (STOP, 1, [(D, 2, W.REPLICA_DRAINING)], "Terminating"),
        (STOP, 1, [], "Stopped"),
        (DEL, 1, [(R, 2, W.REPLICA_READY)], "Terminating"),
    ],
)
def test_status_follows_the_replicas(desired, wanted, replicas, status) -> None:  # type: ignore[no-untyped-def]
    assert shown(desired, wanted, *replicas) == status


def test_every_phase_has_a_status() -> None:
    assert {tir_status(phase, 1) for phase in EndpointPhase} == set(TirStatus)


def test_autoscaled_to_zero_is_idle() -> None:
    asleep = endpoint(1, autoscale=TO_ZERO, scale_target=0)
    assert tir_status(derive_phase(asleep, []), asleep.wanted_replicas) is TirStatus.IDLE
    woken = endpoint(1, autoscale=TO_ZERO, scale_target=1)
    assert tir_status(derive_phase(woken, []), woken.wanted_replicas) is TirStatus.WAITING
