"""Lifecycle states as enums with explicit transition tables. Illegal transitions raise."""

from __future__ import annotations

from enum import StrEnum

from modelport.domain.errors import IllegalTransition


class ReplicaState(StrEnum):
    """Where one replica is in its life."""

    PENDING = "pending"  # wanted, not launched yet (waiting for capacity or a backoff delay)
    STARTING = "starting"  # process launched, readiness probe not yet passed
    READY = "ready"  # passing readiness; receives traffic
    DRAINING = "draining"  # out of the route table, finishing in-flight requests before stop
    STOPPED = "stopped"  # process gone on purpose; terminal
    FAILED = "failed"  # crashed, failed liveness or failed to start; restarted after backoff


REPLICA_TRANSITIONS: dict[ReplicaState, frozenset[ReplicaState]] = {
    ReplicaState.PENDING: frozenset(
        {ReplicaState.STARTING, ReplicaState.STOPPED, ReplicaState.FAILED}
    ),
    ReplicaState.STARTING: frozenset(
        {ReplicaState.READY, ReplicaState.FAILED, ReplicaState.DRAINING, ReplicaState.STOPPED}
    ),
    ReplicaState.READY: frozenset(
        {ReplicaState.DRAINING, ReplicaState.FAILED, ReplicaState.STARTING}
    ),
    ReplicaState.DRAINING: frozenset({ReplicaState.STOPPED, ReplicaState.FAILED}),
    ReplicaState.FAILED: frozenset({ReplicaState.PENDING, ReplicaState.STOPPED}),
    ReplicaState.STOPPED: frozenset(),
}
# READY -> STARTING: readiness lost while still alive; out of traffic until it passes again.


def check_replica_transition(current: ReplicaState, new: ReplicaState) -> None:
    if new not in REPLICA_TRANSITIONS[current]:
        raise IllegalTransition(f"replica cannot go from {current.value} to {new.value}")


# Replica states whose process may be alive and must be stopped before the record is dropped.
LIVE_REPLICA_STATES = frozenset({ReplicaState.STARTING, ReplicaState.READY, ReplicaState.DRAINING})


class DesiredState(StrEnum):
    """What the user asked the endpoint to be."""

    RUNNING = "running"  # serve with the spec's replica count
    STOPPED = "stopped"  # no replicas; spec and URL kept
    DELETED = "deleted"  # tear down, then the record is removed


class EndpointPhase(StrEnum):
    """Observed condition of an endpoint, derived from its replicas (never stored as truth)."""

    DEPLOYING = "deploying"  # running wanted, no replica ready yet
    READY = "ready"  # every wanted replica ready on the current generation
    UPDATING = "updating"  # rolling replicas onto a new generation
    DEGRADED = "degraded"  # serving, but with fewer ready replicas than wanted
    FAILED = "failed"  # running wanted, nothing ready, and replicas keep failing
    PENDING = "pending"  # waiting for capacity (e.g. GPUs this host does not have)
    IDLE = "idle"  # autoscaled to zero replicas: asleep, the next request wakes it
    STOPPING = "stopping"  # stop wanted, replicas still draining
    STOPPED = "stopped"  # stop wanted and no replica alive
    DELETING = "deleting"  # delete wanted, tearing down
