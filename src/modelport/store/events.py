"""Endpoint events (the user-visible history) and the controller's leader lease."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from modelport.domain.errors import NotFound
from modelport.domain.records import Event, EventLevel
from modelport.store.repository import Repository
from modelport.store.rows import event_from_row
from modelport.store.tables import endpoints, events, leases


class EventRepository(Repository):
    def add_event(
        self,
        endpoint_id: int,
        *,
        level: EventLevel,
        reason: str,
        message: str,
        now: datetime,
        replica_id: int | None = None,
    ) -> Event:
        with self._engine.begin() as conn:
            project_id = conn.execute(
                select(endpoints.c.project_id).where(endpoints.c.id == endpoint_id)
            ).scalar()
            if project_id is None:
                raise NotFound(f"endpoint {endpoint_id} not found", field="endpoint_id")
            row = conn.execute(
                insert(events)
                .values(
                    endpoint_id=endpoint_id,
                    project_id=project_id,
                    replica_id=replica_id,
                    level=level.value,
                    reason=reason,
                    message=message,
                    created_at=now,
                )
                .returning(*events.c)
            ).one()
        return event_from_row(row)

    def list_events(
        self, endpoint_id: int, *, after_id: int = 0, limit: int = 200
    ) -> Sequence[Event]:
        query = (
            select(events)
            .where(events.c.endpoint_id == endpoint_id, events.c.id > after_id)
            .order_by(events.c.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [event_from_row(row) for row in rows]


class LeaseRepository(Repository):
    def try_acquire_lease(self, name: str, holder: str, ttl_seconds: float, now: datetime) -> bool:
        """One upsert: insert, or take over a lease that is ours or has expired.

        The conditional DO UPDATE is atomic on both databases, so of two contenders for an
        expired lease exactly one gets a row back.
        """
        expires_at = now + timedelta(seconds=ttl_seconds)
        with self._engine.begin() as conn:
            upsert = _insert_for(conn)(leases).values(
                name=name, holder=holder, expires_at=expires_at
            )
            upsert = upsert.on_conflict_do_update(
                index_elements=[leases.c.name],
                set_={"holder": holder, "expires_at": expires_at},
                where=or_(leases.c.holder == holder, leases.c.expires_at <= now),
            )
            taken = conn.execute(upsert.returning(leases.c.holder)).first()
        return taken is not None

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up early; a lease someone else holds is left alone."""
        with self._engine.begin() as conn:
            conn.execute(delete(leases).where(leases.c.name == name, leases.c.holder == holder))


def _insert_for(conn: Connection) -> type[postgresql.Insert] | type[sqlite.Insert]:
    # Both dialects' Insert have on_conflict_do_update with the same arguments.
    return postgresql.Insert if conn.dialect.name == "postgresql" else sqlite.Insert
