"""Endpoint events: the user-visible history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select

from modelport.domain.errors import NotFound
from modelport.domain.records import Event, EventLevel, LeaseFence
from modelport.domain.scaling import ScaleChange
from modelport.store.leases import hold_fence
from modelport.store.repository import Repository
from modelport.store.rows import event_from_row
from modelport.store.tables import endpoints, events


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
        fence: LeaseFence | None = None,
        scale: ScaleChange | None = None,
    ) -> Event:
        with self._engine.begin() as conn:
            hold_fence(conn, fence)
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
                    scale=None if scale is None else scale.model_dump_json(),
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
