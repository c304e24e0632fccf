"""Store set-up shared by the gateway tests: READY replicas on loopback ports, tokens."""

from __future__ import annotations

from datetime import UTC, datetime

from modelport.domain.ids import hash_token, new_token, token_display_prefix
from modelport.domain.records import ReplicaHandle, Role
from modelport.domain.states import ReplicaState
from modelport.store.repositories import SqlStore


def ready_replica(store: SqlStore, endpoint_id: int, port: int) -> None:
    """A replica of generation 1 taken through the real transitions to READY on `port`."""
    now = datetime.now(UTC)
    replica = store.create_replica(endpoint_id, 1, now)
    handle = ReplicaHandle(backend="local", host="127.0.0.1", port=port)
    store.transition_replica(
        replica.id, ReplicaState.PENDING, ReplicaState.STARTING, detail="t", now=now, handle=handle
    )
    store.transition_replica(
        replica.id, ReplicaState.STARTING, ReplicaState.READY, detail="t", now=now
    )


def make_token(store: SqlStore, project_id: int, role: Role, endpoint_id: int | None = None) -> str:
    """A stored token (hashed, as the server stores them); returns its plaintext."""
    secret = new_token()
    store.create_token(
        project_id, f"t-{secret[-6:]}", role, hash_token(secret), token_display_prefix(secret),
        endpoint_id,
    )  # fmt: skip
    return secret
