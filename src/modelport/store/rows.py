"""Table rows to domain records: enums from their stored values, JSON columns parsed."""

from __future__ import annotations

import json
from functools import lru_cache

from sqlalchemy import Row

from modelport.domain.datasets import Dataset, StorageKind, StorageOptions
from modelport.domain.decisions import ReplicaReason
from modelport.domain.invocations import Invocation, InvocationStatus
from modelport.domain.records import (
    Endpoint,
    Event,
    EventLevel,
    Project,
    ProjectLimits,
    Replica,
    ReplicaHandle,
    Role,
    Token,
)
from modelport.domain.scaling import ScaleChange
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState, ReplicaState


def project_from_row(row: Row[tuple[object, ...]]) -> Project:
    m = row._mapping
    limits = m["limits"]
    return Project(
        id=m["id"],
        name=m["name"],
        created_at=m["created_at"],
        limits=ProjectLimits() if limits is None else ProjectLimits.model_validate_json(limits),
        host_access=bool(m["host_access"]),
    )


def token_from_row(row: Row[tuple[object, ...]]) -> Token:
    m = row._mapping
    return Token(
        id=m["id"],
        project_id=m["project_id"],
        name=m["name"],
        role=Role(m["role"]),
        prefix=m["prefix"],
        endpoint_id=m["endpoint_id"],
        created_at=m["created_at"],
        revoked=bool(m["revoked"]),
        server_admin=bool(m["server_admin"]),
    )


def endpoint_from_row(row: Row[tuple[object, ...]]) -> Endpoint:
    m = row._mapping
    return Endpoint(
        id=m["id"],
        project_id=m["project_id"],
        name=m["name"],
        spec=parse_spec(m["spec"]),
        generation=m["generation"],
        template_generation=m["template_generation"],
        desired_state=DesiredState(m["desired_state"]),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        scale_target=m["scale_target"],
        scaled_at=m["scaled_at"],
    )


# Full passes (each gateway process's route resync, the controller's) read every endpoint once
# a minute; parsing and validating 10,000 specs held the GIL for ~1 s and stalled requests in
# that process. The stored text is the key, so a changed spec is parsed anew. Sized above the
# endpoints one install is built for (an LRU smaller than a full pass would only thrash);
# holds the stored text besides the specs the route tables keep anyway. EndpointSpec is
# frozen, as records sharing one parsed spec need.
@lru_cache(maxsize=16_384)
def parse_spec(text: str) -> EndpointSpec:
    return EndpointSpec.model_validate_json(text)


def replica_from_row(row: Row[tuple[object, ...]]) -> Replica:
    m = row._mapping
    handle = m["handle"]
    return Replica(
        id=m["id"],
        endpoint_id=m["endpoint_id"],
        project_id=m["project_id"],
        generation=m["generation"],
        state=ReplicaState(m["state"]),
        handle=None if handle is None else ReplicaHandle.model_validate_json(handle),
        restart_count=m["restart_count"],
        reason=None if m["reason"] is None else ReplicaReason(m["reason"]),
        detail=m["detail"],
        state_changed_at=m["state_changed_at"],
        next_attempt_at=m["next_attempt_at"],
        ready_at=m["ready_at"],
        created_at=m["created_at"],
        restart_requested_at=m["restart_requested_at"],
    )


def event_from_row(row: Row[tuple[object, ...]]) -> Event:
    m = row._mapping
    return Event(
        id=m["id"],
        project_id=m["project_id"],
        endpoint_id=m["endpoint_id"],
        replica_id=m["replica_id"],
        level=EventLevel(m["level"]),
        reason=m["reason"],
        message=m["message"],
        created_at=m["created_at"],
        scale=None if m["scale"] is None else ScaleChange.model_validate_json(m["scale"]),
    )


def invocation_from_row(row: Row[tuple[object, ...]]) -> Invocation:
    m = row._mapping
    return Invocation(
        id=m["id"],
        project_id=m["project_id"],
        endpoint_id=m["endpoint_id"],
        status=InvocationStatus(m["status"]),
        method=m["method"],
        path=m["path"],
        body=bytes(m["body"]),
        headers=tuple((str(k), str(v)) for k, v in json.loads(m["headers"])),
        idempotency_key=m["idempotency_key"],
        attempts=m["attempts"],
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        started_at=m["started_at"],
        finished_at=m["finished_at"],
        available_at=m["available_at"],
        lease_owner=m["lease_owner"],
        lease_expires_at=m["lease_expires_at"],
        response_status=m["response_status"],
        result_location=m["result_location"],
        error=m["error"],
    )


def dataset_from_row(row: Row[tuple[object, ...]]) -> Dataset:
    m = row._mapping
    return Dataset(
        id=m["id"],
        project_id=m["project_id"],
        name=m["name"],
        kind=StorageKind(m["kind"]),
        url=m["url"],
        options=StorageOptions.model_validate_json(m["options"]),
        sealed_credentials=m["sealed_credentials"],
        created_at=m["created_at"],
    )
