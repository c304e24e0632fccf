"""An endpoint's replicas, their logs and its async requests in TIR's shapes: what the
e2enetworks SDK's list_replicas, restart_replica, logs and async-status calls read.

A replica's TIR name is `is-{inference_id}-replica-{replica_id}` (TIR's pods are named after
`is-{inference_id}` too); the SDK passes it back to restart that replica.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from modelport.domain.errors import NotFound
from modelport.domain.records import Replica
from modelport.domain.states import ReplicaState
from modelport.services.endpoint_views import ReplicaLog

_NAME = re.compile(r"is-(\d{1,19})-replica-(\d{1,19})")


class ReplicaStatus(StrEnum):
    """A replica's `status` as TIR shows its pods."""

    PENDING = "Pending"  # wanted, not launched (waiting for capacity or a backoff delay)
    STARTING = "Starting"  # launched, not yet passing readiness
    RUNNING = "Running"  # passing readiness: takes traffic
    TERMINATING = "Terminating"  # out of traffic, finishing requests, then stopped
    STOPPED = "Stopped"  # gone on purpose
    FAILED = "Failed"  # crashed or failed its probes; started again after a backoff


_BY_STATE = MappingProxyType(
    {
        ReplicaState.PENDING: ReplicaStatus.PENDING,
        ReplicaState.STARTING: ReplicaStatus.STARTING,
        ReplicaState.READY: ReplicaStatus.RUNNING,
        ReplicaState.DRAINING: ReplicaStatus.TERMINATING,
        ReplicaState.STOPPED: ReplicaStatus.STOPPED,
        ReplicaState.FAILED: ReplicaStatus.FAILED,
    }
)


def replica_name(inference_id: int, replica_id: int) -> str:
    return f"is-{inference_id}-replica-{replica_id}"


def replica_id(inference_id: int, name: str) -> int:
    """The replica id a TIR replica name of this endpoint stands for."""
    found = _NAME.fullmatch(name)
    if found is None or int(found.group(1)) != inference_id:
        raise NotFound(
            f"replica_name: {name!r} is not a replica of endpoint {inference_id} (names look "
            f"like {replica_name(inference_id, 1)!r}; list them with GET .../replicas/)",
            field="replica_name",
        )
    return int(found.group(2))


def replicas_data(inference_id: int, replicas: Sequence[Replica]) -> list[dict[str, Any]]:
    """The endpoint's replicas that exist or are wanted (stopped ones are history)."""
    return [
        {
            "replica_name": replica_name(inference_id, r.id),
            "replica_id": r.id,
            "status": _BY_STATE[r.state].value,
            "state": r.state.value,
            "reason": r.state_reason,  # e.g. why a GPU replica waits: what the host lacks
            "generation": r.generation,
            "restart_count": r.restart_count,
            "created_at": r.created_at.isoformat(),
            "ready_at": r.ready_at.isoformat() if r.ready_at else None,
        }
        for r in replicas
        if r.state is not ReplicaState.STOPPED
    ]


def logs_data(inference_id: int, logs: Sequence[ReplicaLog]) -> list[dict[str, Any]]:
    """Each launched replica's log tail."""
    return [
        {"replica_name": replica_name(inference_id, entry.replica_id), "logs": entry.text}
        for entry in logs
    ]
