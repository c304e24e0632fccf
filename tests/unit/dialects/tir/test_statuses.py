"""TIR's status (Waiting, Running, Idle, Terminating, Stopped, Failed) from an endpoint's phase,
itself derived from its desired state and replicas."""

from __future__ import annotations

import pytest

from modelport.dialects.tir.statuses import TirStatus, tir_status
from modelport.domain.phases import derive_phase
from modelport.domain.states import DesiredState, EndpointPhase, ReplicaState
from tests.unit.domain.records import endpoint, replica

P, S, R, F, D = (
    ReplicaState.PENDING,
    ReplicaState.STARTING,
    ReplicaState.READY,
    ReplicaState.FAILED,
    ReplicaState.DRAINING,
)
RUN, STOP, DEL = DesiredState.RUNNING, DesiredState.STOPPED, DesiredState.DELETED
CAPACITY = "InsufficientCapacity: needs 1x H100-80GB; this host has none"


def shown(desired: DesiredState, wanted: int, *replicas: tuple[ReplicaState, int, str]) -> str:
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
        (RUN, 1, [(P, 2, "ReplicaCreated: x")], "Waiting"),
        (RUN, 1, [(P, 2, CAPACITY)], "Waiting"),
        (RUN, 1, [(S, 2, "ReplicaStarting: x")], "Waiting"),
        (RUN, 1, [(R, 2, "ReplicaReady: x")], "Running"),
        (RUN, 2, [(R, 2, "ReplicaReady: x"), (S, 2, "ReplicaStarting: x")], "Running"),
        (RUN, 1, [(R, 1, "ReplicaReady: x"), (S, 2, "ReplicaStarting: x")], "Running"),
        (RUN, 0, [], "Idle"),
        (RUN, 1, [(F, 2, "ReplicaCrashed: exit 1")], "Failed"),
        (STOP, 1, [(D, 2, "ReplicaDraining: stop")], "Terminating"),
        (STOP, 1, [], "Stopped"),
        (DEL, 1, [(R, 2, "ReplicaReady: x")], "Terminating"),
    ],
)
def test_status_follows_the_replicas(desired, wanted, replicas, status) -> None:  # type: ignore[no-untyped-def]
    assert shown(desired, wanted, *replicas) == status


def test_every_phase_has_a_status() -> None:
    assert {tir_status(phase, 1) for phase in EndpointPhase} == set(TirStatus) - {TirStatus.IDLE}
