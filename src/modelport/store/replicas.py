"""Replicas: the controller's observed state, moved only along the transition table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Update, delete, func, insert, literal, select, update

from modelport.domain.decisions import ReplicaReason
from modelport.domain.errors import Conflict, NotFound
from modelport.domain.records import LeaseFence, Replica, ReplicaHandle
from modelport.domain.states import ReplicaState, check_replica_transition
from modelport.store.leases import hold_fence
from modelport.store.repository import Repository
from modelport.store.rows import replica_from_row
from modelport.store.tables import UtcDateTime, endpoints, replicas


class ReplicaRepository(Repository):
    def create_replica(
        self, endpoint_id: int, generation: int, now: datetime, *, fence: LeaseFence | None = None
    ) -> Replica:
        with self._engine.begin() as conn:
            hold_fence(conn, fence)
            project_id = conn.execute(
                select(endpoints.c.project_id).where(endpoints.c.id == endpoint_id)
            ).scalar()
            if project_id is None:
                raise NotFound(f"endpoint {endpoint_id} not found", field="endpoint_id")
            row = conn.execute(
                insert(replicas)
                .values(
                    endpoint_id=endpoint_id,
                    project_id=project_id,
                    generation=generation,
                    state=ReplicaState.PENDING.value,
                    handle=None,
                    restart_count=0,
                    reason=ReplicaReason.REPLICA_CREATED.value,
                    detail="",
                    state_changed_at=now,
                    created_at=now,
                )
                .returning(*replicas.c)
            ).one()
        return replica_from_row(row)

    def get_replica(self, replica_id: int) -> Replica:
        with self._engine.connect() as conn:
            row = conn.execute(select(replicas).where(replicas.c.id == replica_id)).first()
        if row is None:
            raise NotFound(f"replica {replica_id} not found")
        return replica_from_row(row)

    def list_replicas(
        self, endpoint_id: int | None = None, *, include_stopped: bool = False
    ) -> Sequence[Replica]:
        query = select(replicas).order_by(replicas.c.id)
        if endpoint_id is not None:
            query = query.where(replicas.c.endpoint_id == endpoint_id)
        if not include_stopped:
            query = query.where(replicas.c.state != ReplicaState.STOPPED.value)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [replica_from_row(row) for row in rows]

    def list_ready_replicas(self) -> Sequence[Replica]:
        query = (
            select(replicas)
            .where(replicas.c.state == ReplicaState.READY.value)
            .order_by(replicas.c.endpoint_id, replicas.c.id)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [replica_from_row(row) for row in rows]

    def transition_replica(
        self,
        replica_id: int,
        expected: ReplicaState,
        new: ReplicaState,
        *,
        now: datetime,
        reason: ReplicaReason | None = None,
        detail: str = "",
        handle: ReplicaHandle | None = None,
        next_attempt_at: datetime | None = None,
        count_restart: bool = False,
        fence: LeaseFence | None = None,
    ) -> Replica:
        """`handle` and `next_attempt_at` replace the stored values only when given."""
        check_replica_transition(expected, new)
        changes: dict[str, Any] = {
            "state": new.value,
            "reason": None if reason is None else reason.value,
            "detail": detail,
            "state_changed_at": now,
        }
        if handle is not None:
            changes["handle"] = handle.stored_json()  # keeps the sealed replica key
        if next_attempt_at is not None:
            changes["next_attempt_at"] = next_attempt_at
        if new is ReplicaState.READY:
            changes["ready_at"] = now
        if count_restart:
            changes["restart_count"] = replicas.c.restart_count + 1
        # The WHERE on state makes this a compare-and-set: two movers cannot both win.
        statement = (
            update(replicas)
            .where(replicas.c.id == replica_id, replicas.c.state == expected.value)
            .values(changes)
            .returning(*replicas.c)
        )
        return self._compare_and_set(statement, replica_id, expected, fence)

    def set_pending_reason(
        self,
        replica_id: int,
        *,
        reason: ReplicaReason,
        detail: str,
        now: datetime,
        next_attempt_at: datetime,
        fence: LeaseFence | None = None,
    ) -> Replica:
        """A PENDING replica's new reason and retry time, in place: one write, no state change
        (state_changed_at moves, so "latest problem" readers see the new reason as news)."""
        pending = ReplicaState.PENDING
        statement = (
            update(replicas)
            .where(replicas.c.id == replica_id, replicas.c.state == pending.value)
            .values(
                reason=reason.value,
                detail=detail,
                state_changed_at=now,
                next_attempt_at=next_attempt_at,
            )
            .returning(*replicas.c)
        )
        return self._compare_and_set(statement, replica_id, pending, fence)

    def _compare_and_set(
        self, statement: Update, replica_id: int, expected: ReplicaState, fence: LeaseFence | None
    ) -> Replica:
        """Run an UPDATE guarded by `expected` state; Conflict naming the state it has if not."""
        with self._engine.begin() as conn:
            hold_fence(conn, fence)
            row = conn.execute(statement).first()
            if row is None:
                current = _state_of(conn, replica_id)
                if current is None:
                    raise NotFound(f"replica {replica_id} not found")
                raise Conflict(
                    f"replica {replica_id} is {current}, not {expected.value}", field="state"
                )
        return replica_from_row(row)

    def request_replica_restart(
        self, replica_id: int, replaceable: frozenset[ReplicaState], now: datetime
    ) -> Replica:
        """Mark the replica for replacement if it is in one of `replaceable`; a second request
        keeps the first one's time. Conflict naming its state otherwise."""
        statement = (
            update(replicas)
            .where(
                replicas.c.id == replica_id,
                replicas.c.state.in_([s.value for s in replaceable]),
            )
            .values(
                restart_requested_at=func.coalesce(
                    replicas.c.restart_requested_at, literal(now, UtcDateTime())
                )
            )
            .returning(*replicas.c)
        )
        with self._engine.begin() as conn:
            row = conn.execute(statement).first()
            if row is None:
                current = _state_of(conn, replica_id)
                if current is None:
                    raise NotFound(f"replica {replica_id} not found", field="replica")
                raise Conflict(f"replica {replica_id} is {current}", field="replica")
        return replica_from_row(row)

    def delete_replica(self, replica_id: int, *, fence: LeaseFence | None = None) -> None:
        """Idempotent: a replica already gone (e.g. with its endpoint) is not an error."""
        with self._engine.begin() as conn:
            hold_fence(conn, fence)
            conn.execute(delete(replicas).where(replicas.c.id == replica_id))


def _state_of(conn: Connection, replica_id: int) -> str | None:
    """The replica's stored state, or None if there is no such replica (why a CAS missed)."""
    state: str | None = conn.execute(
        select(replicas.c.state).where(replicas.c.id == replica_id)
    ).scalar()
    return state
