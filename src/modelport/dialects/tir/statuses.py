"""TIR's endpoint statuses, derived from Modelport's phase (itself derived from the replicas)."""

from __future__ import annotations

from enum import StrEnum
from types import MappingProxyType

from modelport.domain.states import EndpointPhase


class TirStatus(StrEnum):
    """The `status` TIR clients see."""

    WAITING = "Waiting"  # deploying: no replica ready yet (or waiting for capacity)
    RUNNING = "Running"  # serving (also while rolling onto a new generation, or degraded)
    IDLE = "Idle"  # running, with zero replicas wanted: nothing serves until it scales up
    TERMINATING = "Terminating"  # replicas stopping, or the endpoint being deleted
    STOPPED = "Stopped"  # stopped on purpose: no replica alive; spec and URL kept
    FAILED = "Failed"  # replicas keep failing and none is ready


_BY_PHASE = MappingProxyType(
    {
        EndpointPhase.DEPLOYING: TirStatus.WAITING,
        EndpointPhase.PENDING: TirStatus.WAITING,
        EndpointPhase.READY: TirStatus.RUNNING,
        EndpointPhase.UPDATING: TirStatus.RUNNING,
        EndpointPhase.DEGRADED: TirStatus.RUNNING,
        EndpointPhase.IDLE: TirStatus.IDLE,  # autoscaled to zero
        EndpointPhase.FAILED: TirStatus.FAILED,
        EndpointPhase.STOPPING: TirStatus.TERMINATING,
        EndpointPhase.DELETING: TirStatus.TERMINATING,
        EndpointPhase.STOPPED: TirStatus.STOPPED,
    }
)


def tir_status(phase: EndpointPhase, wanted: int) -> TirStatus:
    """The status for an endpoint's phase; `wanted` is how many replicas it should run now."""
    if phase is EndpointPhase.READY and wanted == 0:
        return TirStatus.IDLE
    return _BY_PHASE[phase]
