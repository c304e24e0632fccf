"""An endpoint's phase, derived from its desired state and its replicas (never stored as truth)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from modelport.domain.decisions import ReplicaReason
from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import (
    LIVE_REPLICA_STATES,
    DesiredState,
    EndpointPhase,
    ReplicaState,
)


@dataclass(frozen=True)
class ReplicaCounts:
    """Replicas of an endpoint by what matters for its phase (STOPPED ones are ignored)."""

    wanted: int  # how many should run now (spec count, or the autoscaler's target)
    ready: int  # READY replicas of the current generation
    current: int  # replicas of the current generation, any state but STOPPED
    older: int  # replicas of an older generation, any state but STOPPED
    live: int  # replicas whose process may be alive (STARTING, READY, DRAINING)
    failing: int  # current-generation replicas FAILED or restarted at least once
    waiting_for_capacity: int  # current-generation PENDING replicas held for capacity


def replica_counts(endpoint: Endpoint, replicas: Sequence[Replica]) -> ReplicaCounts:
    present = [r for r in replicas if r.state is not ReplicaState.STOPPED]
    current = [r for r in present if r.generation == endpoint.template_generation]
    return ReplicaCounts(
        wanted=endpoint.wanted_replicas,
        ready=sum(r.state is ReplicaState.READY for r in current),
        current=len(current),
        older=len(present) - len(current),
        live=sum(r.state in LIVE_REPLICA_STATES for r in present),
        failing=sum(r.state is ReplicaState.FAILED or r.restart_count > 0 for r in current),
        waiting_for_capacity=sum(is_waiting_for_capacity(r) for r in current),
    )


def is_waiting_for_capacity(replica: Replica) -> bool:
    return (
        replica.state is ReplicaState.PENDING
        and replica.reason is ReplicaReason.INSUFFICIENT_CAPACITY
    )


def is_idle(endpoint: Endpoint, counts: ReplicaCounts) -> bool:
    """Scaled to zero by the autoscaler (not by hand): nothing alive, a request wakes it."""
    policy = endpoint.spec.autoscale
    return policy.enabled and policy.min_replicas == 0 and counts.wanted == 0 and counts.live == 0


def derive_phase(endpoint: Endpoint, replicas: Sequence[Replica]) -> EndpointPhase:
    """The phase a user sees; `replicas` are the endpoint's replicas (STOPPED ones ignored)."""
    if endpoint.desired_state is DesiredState.DELETED:
        return EndpointPhase.DELETING
    counts = replica_counts(endpoint, replicas)
    if endpoint.desired_state is DesiredState.STOPPED:
        return EndpointPhase.STOPPING if counts.live else EndpointPhase.STOPPED
    if is_idle(endpoint, counts):
        return EndpointPhase.IDLE
    if counts.older:
        return EndpointPhase.UPDATING
    if counts.ready >= counts.wanted:
        return EndpointPhase.READY
    if counts.ready:
        return EndpointPhase.DEGRADED
    if counts.failing:
        return EndpointPhase.FAILED
    if counts.current and counts.waiting_for_capacity == counts.current:
        return EndpointPhase.PENDING
    return EndpointPhase.DEPLOYING
