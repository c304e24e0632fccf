"""What the controller's planner decides: small typed actions, applied by the controller loop.

Decisions name a replica by id; the loop applies each against the replica's state as it was
observed this tick (compare-and-set), so a decision about a replica that moved meanwhile is
dropped and the next tick looks again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventReason(StrEnum):
    """CamelCase reasons written to an endpoint's event history."""

    REPLICA_CREATED = "ReplicaCreated"  # a replica record was added (PENDING)
    REPLICA_STARTING = "ReplicaStarting"  # its process was launched
    REPLICA_READY = "ReplicaReady"  # readiness passed; it now receives traffic
    REPLICA_NOT_READY = "ReplicaNotReady"  # readiness lost; out of traffic until it passes again
    REPLICA_CRASHED = "ReplicaCrashed"  # the process exited or vanished on its own
    LIVENESS_FAILED = "LivenessFailed"  # liveness failed too often; the process was killed
    STARTUP_TIMEOUT = "StartupTimeout"  # never became ready in time; the process was killed
    RESTART_SCHEDULED = "RestartScheduled"  # a failed replica waits out its backoff
    REPLICA_DRAINING = "ReplicaDraining"  # out of traffic, finishing in-flight requests
    REPLICA_STOPPING = "ReplicaStopping"  # SIGTERM sent; killed if it outlives the grace period
    REPLICA_STOPPED = "ReplicaStopped"  # stopped on purpose and removed
    ROLLOUT_STARTED = "RolloutStarted"  # the first replica of a new generation was created
    ROLLOUT_COMPLETE = "RolloutComplete"  # the last replica of an older generation was stopped
    INSUFFICIENT_CAPACITY = "InsufficientCapacity"  # waiting for GPUs this host cannot supply
    ENGINE_UNAVAILABLE = "EngineUnavailable"  # the engine is not installed / usable here
    ENGINE_INSTALLING = "EngineInstalling"  # the engine is being installed here (progress)
    INVALID_SPEC = "InvalidSpec"  # the engine adapter rejected the spec
    LAUNCH_FAILED = "LaunchFailed"  # the runtime cannot run the plan (permanent error)
    LAUNCH_DEFERRED = "LaunchDeferred"  # the runtime asked to retry later (temporary error)
    MODEL_DOWNLOADING = "ModelDownloading"  # the model's files are being fetched (progress)
    MODEL_READY = "ModelReady"  # the model's files are on the host (downloaded or cached)
    MODEL_UNAVAILABLE = "ModelUnavailable"  # the model cannot be fetched (no repo, bad token)
    IMAGE_PULL_FAILED = "ImagePullFailed"  # the container image cannot be pulled
    RECONCILE_ERROR = "ReconcileError"  # an unexpected error while reconciling the endpoint
    SCALED = "Scaled"  # the autoscaler changed the replica count; the message says why


class ReplicaReason(StrEnum):
    """Why a replica is in its state, stored beside a human detail. Each is the reason of the
    event written when the replica got it, so the two never disagree."""

    REPLICA_CREATED = EventReason.REPLICA_CREATED.value
    REPLICA_STARTING = EventReason.REPLICA_STARTING.value
    REPLICA_READY = EventReason.REPLICA_READY.value
    REPLICA_NOT_READY = EventReason.REPLICA_NOT_READY.value
    REPLICA_CRASHED = EventReason.REPLICA_CRASHED.value
    LIVENESS_FAILED = EventReason.LIVENESS_FAILED.value
    STARTUP_TIMEOUT = EventReason.STARTUP_TIMEOUT.value
    RESTART_SCHEDULED = EventReason.RESTART_SCHEDULED.value
    REPLICA_DRAINING = EventReason.REPLICA_DRAINING.value
    REPLICA_STOPPING = EventReason.REPLICA_STOPPING.value
    REPLICA_STOPPED = EventReason.REPLICA_STOPPED.value
    INSUFFICIENT_CAPACITY = EventReason.INSUFFICIENT_CAPACITY.value
    ENGINE_UNAVAILABLE = EventReason.ENGINE_UNAVAILABLE.value
    ENGINE_INSTALLING = EventReason.ENGINE_INSTALLING.value
    INVALID_SPEC = EventReason.INVALID_SPEC.value
    LAUNCH_FAILED = EventReason.LAUNCH_FAILED.value
    LAUNCH_DEFERRED = EventReason.LAUNCH_DEFERRED.value
    MODEL_DOWNLOADING = EventReason.MODEL_DOWNLOADING.value
    MODEL_UNAVAILABLE = EventReason.MODEL_UNAVAILABLE.value
    IMAGE_PULL_FAILED = EventReason.IMAGE_PULL_FAILED.value

    @property
    def event(self) -> EventReason:
        return EventReason(self.value)


def reason_text(reason: ReplicaReason | None, detail: str) -> str:
    """A replica's reason as people read it: "InsufficientCapacity: needs 1x H100 ..."."""
    if reason is None:
        return detail  # a row older than the enum whose text named no known reason
    return f"{reason.value}: {detail}" if detail else reason.value


@dataclass(frozen=True)
class CreateReplica:
    """Add a PENDING replica of `generation`."""

    endpoint_id: int
    generation: int
    starts_rollout: bool = False  # first replica of a new generation beside older ones


@dataclass(frozen=True)
class LaunchReplica:
    """Start a PENDING replica's process (PENDING -> STARTING)."""

    replica_id: int


@dataclass(frozen=True)
class HoldPending:
    """Keep a replica PENDING for lack of capacity; recorded once as its reason + event."""

    replica_id: int
    message: str  # e.g. "needs 1x H100-80GB; this host has none"


@dataclass(frozen=True)
class MarkReady:
    """Readiness passed (STARTING -> READY): the gateway starts routing to it."""

    replica_id: int


@dataclass(frozen=True)
class MarkNotReady:
    """Readiness failed on a READY replica (READY -> STARTING): out of traffic, kept alive."""

    replica_id: int
    message: str


@dataclass(frozen=True)
class FailReplica:
    """Mark a replica FAILED; `kill` stops a process that is still running first."""

    replica_id: int
    reason: ReplicaReason  # REPLICA_CRASHED, LIVENESS_FAILED or STARTUP_TIMEOUT
    message: str
    kill: bool = False


@dataclass(frozen=True)
class RestartReplica:
    """FAILED -> PENDING, not to be launched before `not_before` (capped exponential backoff)."""

    replica_id: int
    not_before: datetime
    delay_seconds: float


@dataclass(frozen=True)
class DrainReplica:
    """READY -> DRAINING: leave the route table, finish in-flight requests."""

    replica_id: int
    message: str  # why, e.g. "rolling to generation 3"


@dataclass(frozen=True)
class StopReplica:
    """Stop the process if any, mark the replica STOPPED and drop its record."""

    replica_id: int
    message: str
    completes_rollout: bool = False  # the last replica of an older generation


@dataclass(frozen=True)
class DeleteEndpoint:
    """Nothing of the endpoint is alive any more: remove its record."""

    endpoint_id: int


Decision = (
    CreateReplica
    | LaunchReplica
    | HoldPending
    | MarkReady
    | MarkNotReady
    | FailReplica
    | RestartReplica
    | DrainReplica
    | StopReplica
    | DeleteEndpoint
)
