"""Read-side helpers for endpoints: the public view and replica log tails. No HTTP here."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelport.domain.phases import derive_phase
from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import LIVE_REPLICA_STATES, DesiredState, ReplicaState
from modelport.schemas.native import EndpointPublic, ReplicaCounts, ReplicaPublic
from modelport.services.auth import Principal
from modelport.services.spec_secrets import redact

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplicaLog:
    replica_id: int
    text: str


def endpoint_url(gateway_base_url: str, name: str) -> str:
    """The endpoint's OpenAI base URL on the gateway."""
    return f"{gateway_base_url.rstrip('/')}/endpoints/{name}/v1"


def endpoint_public(
    endpoint: Endpoint, replicas: Sequence[Replica], gateway_base_url: str
) -> EndpointPublic:
    """What users see: secrets masked, phase derived from the replicas, gateway URL."""
    return EndpointPublic(
        id=endpoint.id,
        project_id=endpoint.project_id,
        name=endpoint.name,
        spec=redact(endpoint.spec),
        generation=endpoint.generation,
        template_generation=endpoint.template_generation,
        desired_state=endpoint.desired_state,
        phase=derive_phase(endpoint, replicas),
        replicas=replica_counts(endpoint, replicas),
        nodes=replica_nodes(replicas),
        url=endpoint_url(gateway_base_url, endpoint.name),
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )


def replica_counts(endpoint: Endpoint, replicas: Sequence[Replica]) -> ReplicaCounts:
    def count(state: ReplicaState) -> int:
        return sum(r.state is state for r in replicas)

    running = endpoint.desired_state is DesiredState.RUNNING
    return ReplicaCounts(
        desired=endpoint.wanted_replicas if running else 0,
        ready=count(ReplicaState.READY),
        starting=count(ReplicaState.STARTING),
        pending=count(ReplicaState.PENDING),
        failed=count(ReplicaState.FAILED),
        draining=count(ReplicaState.DRAINING),
    )


def replica_nodes(replicas: Sequence[Replica]) -> list[str]:
    """The nodes live replicas run on, each once, sorted (none where they run on this host)."""
    live = (r.handle for r in replicas if r.state in LIVE_REPLICA_STATES and r.handle)
    return sorted({h.node for h in live if h.node})


def may_see_addresses(principal: Principal) -> bool:
    """Replica addresses (host, port, pid, log path) are for those who may manage the
    endpoint: a viewer or an inference key would only use them to bypass the gateway."""
    return principal.role.can_mutate and principal.endpoint_id is None


def replica_public(replica: Replica, *, with_address: bool) -> ReplicaPublic:
    """`with_address` False: the handle is left out (null), as for a replica not launched."""
    return ReplicaPublic(
        id=replica.id,
        endpoint_id=replica.endpoint_id,
        generation=replica.generation,
        state=replica.state,
        reason=replica.reason,
        detail=replica.detail,
        state_reason=replica.state_reason,
        restart_count=replica.restart_count,
        handle=replica.handle if with_address else None,
        state_changed_at=replica.state_changed_at,
        ready_at=replica.ready_at,
        created_at=replica.created_at,
        restart_requested_at=replica.restart_requested_at,
    )


def replica_logs(replicas: Sequence[Replica], tail_bytes: int) -> list[ReplicaLog]:
    """The last `tail_bytes` of each launched replica's log file ("" when it has none yet)."""
    return [
        ReplicaLog(r.id, read_tail(Path(r.handle.log_path), tail_bytes))
        for r in replicas
        if r.handle is not None and r.handle.log_path
    ]


def read_tail(path: Path, tail_bytes: int) -> str:
    """The file's last bytes as text; a missing or unreadable file reads as empty."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - tail_bytes))
            data = f.read(tail_bytes)
    except FileNotFoundError:
        return ""
    except OSError as exc:
        log.warning("cannot read replica log %s: %s", path, exc)
        return ""
    return data.decode("utf-8", errors="replace")
