"""Endpoint and replica records built in memory, for pure tests (no store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelport.domain.decisions import ReplicaReason
from modelport.domain.records import Endpoint, Replica, ReplicaHandle
from modelport.domain.specs import AutoscalePolicy, EndpointSpec, Framework, Resources
from modelport.domain.states import DesiredState, ReplicaState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def endpoint(
    replicas: int = 1,
    *,
    generation: int = 1,
    desired: DesiredState = DesiredState.RUNNING,
    gpus: int = 0,
    gpu_type: str | None = None,
    autoscale: AutoscalePolicy | None = None,
    scale_target: int | None = None,
) -> Endpoint:
    spec = EndpointSpec(
        framework=Framework.CUSTOM,
        command=["serve", "{port}"],
        replicas=replicas,
        resources=Resources(gpu_count=gpus, gpu_type=gpu_type),
        autoscale=autoscale or AutoscalePolicy(),
    )
    return Endpoint(
        id=1,
        project_id=1,
        name="chat",
        spec=spec,
        generation=generation,
        template_generation=generation,
        desired_state=desired,
        created_at=T0,
        updated_at=T0,
        scale_target=scale_target,
    )


def replica(
    id: int,
    state: ReplicaState,
    *,
    generation: int = 1,
    restart_count: int = 0,
    since: float = 0.0,
    reason: ReplicaReason | None = ReplicaReason.REPLICA_CREATED,
    detail: str = "",
    next_attempt: float | None = None,
) -> Replica:
    launched = state not in (ReplicaState.PENDING,)
    return Replica(
        id=id,
        endpoint_id=1,
        project_id=1,
        generation=generation,
        state=state,
        handle=ReplicaHandle(backend="fake", host="127.0.0.1", port=20000 + id, pid=1000 + id)
        if launched
        else None,
        restart_count=restart_count,
        reason=reason,
        detail=detail,
        state_changed_at=at(since),
        next_attempt_at=None if next_attempt is None else at(next_attempt),
        ready_at=at(since) if state is ReplicaState.READY else None,
        created_at=T0,
    )
