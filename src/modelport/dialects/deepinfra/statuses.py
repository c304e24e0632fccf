"""A deployment's DeepInfra status, fail_reason and instance counts, from Modelport's phase.

| Modelport phase            | DeepInfra status                                            |
|----------------------------|-------------------------------------------------------------|
| deploying                  | initializing (no instance launched) / deploying (starting)  |
| pending (no GPUs for it)   | initializing, fail_reason says what capacity is missing     |
| ready, degraded            | running                                                     |
| idle (autoscaled to zero)  | running, 0 instances running or pending                     |
| updating                   | running when an instance serves, else deploying             |
| failed                     | failed, fail_reason is the last failure                     |
| stopping                   | running until no replica process is left (see below)        |
| stopped                    | stopped                                                     |
| deleting                   | deleted                                                     |

DeepInfra has no "stopping" status. A stopped deployment reads `stopped` only once none of its
replicas can answer any more; until then it stays `running`, `instances.running` counting the
replicas still shutting down, so a client that polls for `stopped` never meets a live replica.

`instances.pending` counts instances wanted but not serving: a fresh deployment whose replicas
the controller has not created yet is already pending.

DeepInfra has no status for a deployment scaled to zero: it stays `running` (a request is
answered, after one instance starts), with zero instances.

`downloading` is never reported: weights are fetched by the engine while it starts (deploying).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelport.dialects.deepinfra.schemas import DeployInstances, DeployStatus
from modelport.domain.decisions import ReplicaReason
from modelport.domain.records import Replica
from modelport.domain.states import LIVE_REPLICA_STATES, EndpointPhase, ReplicaState

# Replica reasons worth showing as a fail_reason ("Reason: detail").
_PROBLEMS = frozenset(
    {
        ReplicaReason.INSUFFICIENT_CAPACITY,
        ReplicaReason.ENGINE_UNAVAILABLE,
        ReplicaReason.INVALID_SPEC,
        ReplicaReason.LAUNCH_FAILED,
        ReplicaReason.LAUNCH_DEFERRED,
        ReplicaReason.REPLICA_CRASHED,
        ReplicaReason.LIVENESS_FAILED,
        ReplicaReason.STARTUP_TIMEOUT,
        ReplicaReason.RESTART_SCHEDULED,
    }
)
_NOT_SERVING = frozenset({ReplicaState.PENDING, ReplicaState.STARTING, ReplicaState.FAILED})
_PHASES: dict[EndpointPhase, DeployStatus] = {
    EndpointPhase.PENDING: DeployStatus.INITIALIZING,
    EndpointPhase.READY: DeployStatus.RUNNING,
    EndpointPhase.DEGRADED: DeployStatus.RUNNING,
    EndpointPhase.IDLE: DeployStatus.RUNNING,  # scaled to zero: the next request wakes it
    EndpointPhase.FAILED: DeployStatus.FAILED,
    EndpointPhase.STOPPING: DeployStatus.RUNNING,  # replicas still answer: not stopped yet
    EndpointPhase.STOPPED: DeployStatus.STOPPED,
    EndpointPhase.DELETING: DeployStatus.DELETED,
}
_EXPLAINED = frozenset({DeployStatus.INITIALIZING, DeployStatus.DEPLOYING, DeployStatus.FAILED})


@dataclass(frozen=True, slots=True)
class Condition:
    status: DeployStatus
    fail_reason: str  # "" when nothing is wrong
    instances: DeployInstances


def condition(phase: EndpointPhase, replicas: Sequence[Replica], wanted: int) -> Condition:
    """Status, fail_reason and instances of a deployment wanting `wanted` replicas."""
    status = deploy_status(phase, replicas)
    if phase is EndpointPhase.STOPPING:
        alive = sum(r.state in LIVE_REPLICA_STATES for r in replicas)
        return Condition(status, "", DeployInstances(running=alive, pending=0))
    running = sum(r.state is ReplicaState.READY for r in replicas)
    pending = 0
    if status not in (DeployStatus.STOPPED, DeployStatus.DELETED):
        not_serving = sum(r.state in _NOT_SERVING for r in replicas)
        pending = max(wanted - running, not_serving)
    reason = fail_reason(replicas) if status in _EXPLAINED else ""
    return Condition(status, reason, DeployInstances(running=running, pending=pending))


def deploy_status(phase: EndpointPhase, replicas: Sequence[Replica]) -> DeployStatus:
    mapped = _PHASES.get(phase)
    if mapped is not None:
        return mapped
    if phase is EndpointPhase.UPDATING and any(r.state is ReplicaState.READY for r in replicas):
        return DeployStatus.RUNNING
    launched = any(r.state in (ReplicaState.STARTING, ReplicaState.READY) for r in replicas)
    return DeployStatus.DEPLOYING if launched else DeployStatus.INITIALIZING


def fail_reason(replicas: Sequence[Replica]) -> str:
    """The most recent problem a replica reports, as "Reason: detail"; "" when none."""
    troubled = [r for r in replicas if r.state in _NOT_SERVING and r.reason in _PROBLEMS]
    if not troubled:
        return ""
    latest = max(troubled, key=lambda r: (r.state_changed_at, r.id))
    return latest.state_reason
