"""The planner: desired endpoint + observed replicas -> decisions. Pure: no I/O, no clock.

Level-triggered: every call looks at the whole picture afresh and never assumes that an
earlier decision was carried out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from modelport.controller.capacity import GpuPool
from modelport.controller.facts import EndpointObservation, PlannerPolicy, ReplicaObservation
from modelport.controller.rollout import shape
from modelport.domain.decisions import (
    Decision,
    DeleteEndpoint,
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
from modelport.domain.states import LIVE_REPLICA_STATES, DesiredState, ReplicaState
from modelport.runtime.base import ProcessState


def plan(
    endpoint: Endpoint,
    replicas: Sequence[Replica],
    observations: EndpointObservation,
    now: datetime,
    policy: PlannerPolicy,
) -> list[Decision]:
    """Everything to do for one endpoint this tick, in the order to apply it."""
    present = [r for r in replicas if r.state is not ReplicaState.STOPPED]
    out = shape(endpoint, present)
    decisions = out.decisions
    gpus = observations.gpus
    for replica in present:
        seen = observations.of(replica.id)
        if replica.state is ReplicaState.DRAINING:
            decisions.extend(_draining(replica, seen, now, policy))
        elif replica.id in out.retiring:
            continue
        elif replica.state is ReplicaState.PENDING:
            decision = _pending(endpoint, replica, gpus, now)
            if isinstance(decision, LaunchReplica):
                gpus = gpus.take(endpoint.spec.resources)
            decisions.extend([decision] if decision else [])
        elif replica.state is ReplicaState.STARTING:
            decisions.extend(_starting(replica, seen, now, policy))
        elif replica.state is ReplicaState.READY:
            decisions.extend(_ready(replica, seen, policy))
        elif replica.state is ReplicaState.FAILED:
            delay = policy.backoff(replica.restart_count)
            decisions.append(RestartReplica(replica.id, _after(now, delay), delay))
    _mark_rollout_end(endpoint, present, decisions)
    if endpoint.desired_state is DesiredState.DELETED and not any(
        r.state in LIVE_REPLICA_STATES for r in present
    ):
        decisions.append(DeleteEndpoint(endpoint.id))
    return decisions


def _pending(endpoint: Endpoint, replica: Replica, gpus: GpuPool, now: datetime) -> Decision | None:
    if replica.next_attempt_at is not None and replica.next_attempt_at > now:
        return None
    missing = gpus.shortfall(endpoint.spec.resources)
    if missing is None:
        return LaunchReplica(replica.id)
    if replica.reason is ReplicaReason.INSUFFICIENT_CAPACITY and replica.detail == missing:
        return None  # already said so: one event, not one per tick
    return HoldPending(replica.id, missing)


def _starting(
    replica: Replica, seen: ReplicaObservation, now: datetime, policy: PlannerPolicy
) -> list[Decision]:
    crash = _crash_message(replica, seen, policy, " while starting")
    if crash:
        return [FailReplica(replica.id, ReplicaReason.REPLICA_CRASHED, crash)]
    if seen.readiness_passed:
        return [MarkReady(replica.id)]
    waited = (now - replica.state_changed_at).total_seconds()
    if waited >= policy.startup_timeout_seconds:
        message = (
            f"replica {replica.id} not ready after {waited:.0f}s; "
            f"killed, restarting in {_seconds(policy.backoff(replica.restart_count))}"
        )
        return [FailReplica(replica.id, ReplicaReason.STARTUP_TIMEOUT, message, kill=True)]
    return []


def _ready(replica: Replica, seen: ReplicaObservation, policy: PlannerPolicy) -> list[Decision]:
    crash = _crash_message(replica, seen, policy, "")
    if crash:
        return [FailReplica(replica.id, ReplicaReason.REPLICA_CRASHED, crash)]
    if seen.liveness_failed:
        message = (
            f"replica {replica.id} failed its liveness probe ({seen.probe_detail}); "
            f"killed, restarting in {_seconds(policy.backoff(replica.restart_count))}"
        )
        return [FailReplica(replica.id, ReplicaReason.LIVENESS_FAILED, message, kill=True)]
    if seen.readiness_failed:
        message = f"replica {replica.id} failed its readiness probe ({seen.probe_detail})"
        return [MarkNotReady(replica.id, message)]
    return []


def _draining(
    replica: Replica, seen: ReplicaObservation, now: datetime, policy: PlannerPolicy
) -> list[Decision]:
    drained_for = (now - replica.state_changed_at).total_seconds()
    if seen.process is not None and seen.process.state is not ProcessState.RUNNING:
        return [StopReplica(replica.id, "exited while draining")]
    if seen.inflight == 0 and drained_for >= policy.drain_min_seconds:
        return [StopReplica(replica.id, "drained")]
    if drained_for >= policy.drain_seconds:
        message = (
            f"drain timeout: {seen.inflight} requests still in flight "
            f"after {_seconds(policy.drain_seconds)}"
        )
        return [StopReplica(replica.id, message)]
    return []


def _crash_message(
    replica: Replica, seen: ReplicaObservation, policy: PlannerPolicy, when: str
) -> str | None:
    """A message if the process ended on its own; None if it runs (or nobody looked)."""
    if seen.process is None or seen.process.state is ProcessState.RUNNING:
        return None
    if seen.process.state is ProcessState.EXITED:
        what = f"crashed{when} (exit code {seen.process.exit_code})"
    else:
        node = replica.handle.node if replica.handle else None
        # On a cluster, the node it ran on (lost with it, when a node dies).
        what = f"vanished{when} (process not found" + (f" on node {node})" if node else ")")
    delay = _seconds(policy.backoff(replica.restart_count))
    return f"replica {replica.id} {what}; restarting in {delay}"


def _mark_rollout_end(
    endpoint: Endpoint, present: Sequence[Replica], decisions: list[Decision]
) -> None:
    """Flag the stop of the last older-generation replica so one RolloutComplete is written."""
    if endpoint.desired_state is not DesiredState.RUNNING:
        return
    older = {r.id for r in present if r.generation != endpoint.template_generation}
    stops = [
        i for i, d in enumerate(decisions) if isinstance(d, StopReplica) and d.replica_id in older
    ]
    if older and len(stops) == len(older):
        last = decisions[stops[-1]]
        assert isinstance(last, StopReplica)
        decisions[stops[-1]] = StopReplica(last.replica_id, last.message, completes_rollout=True)


def _after(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)


def _seconds(value: float) -> str:
    return f"{value:g}s"
