"""Indexed reads of what changed: keyset pages of endpoints, the controller's candidates, the
route table's incremental changes, and deletion tombstones.

Watermarks are stored timestamps (updated_at, state_changed_at, deleted_at), read back as the
newest one stored, so callers never compare their own clock with the writers'. A row committed
late with an older stamp is caught by the caller's overlap and by its slow full resync.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, delete, func, insert, select, union

from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import DesiredState, ReplicaState
from modelport.store.paging import (
    NAME_PREFIX_END,
    EndpointFilter,
    ReconcileCandidates,
    RouteChanges,
)
from modelport.store.repository import Repository
from modelport.store.rows import endpoint_from_row, replica_from_row
from modelport.store.tables import endpoint_deletions, endpoints, projects, replicas

TOMBSTONE_TTL = timedelta(hours=1)  # longer than any route table's full-resync interval
_LIVE = [s.value for s in ReplicaState if s is not ReplicaState.STOPPED]
_CHUNK = 500  # ids per IN (...) list: well under every driver's parameter limit


def record_deletion(conn: Connection, endpoint_id: int, project_id: int, now: datetime) -> None:
    """A tombstone for the incremental route refresh; old ones are pruned on the way."""
    conn.execute(
        delete(endpoint_deletions).where(endpoint_deletions.c.deleted_at < now - TOMBSTONE_TTL)
    )
    conn.execute(
        insert(endpoint_deletions).values(
            endpoint_id=endpoint_id, project_id=project_id, deleted_at=now
        )
    )


def _filtered(query: Select[Any], project_id: int, where: EndpointFilter) -> Select[Any]:
    query = query.where(endpoints.c.project_id == project_id)
    if where.name_prefix:
        query = query.where(
            endpoints.c.name >= where.name_prefix,
            endpoints.c.name < where.name_prefix + NAME_PREFIX_END,
        )
    if where.desired is not None:
        query = query.where(endpoints.c.desired_state == where.desired.value)
    if where.framework is not None:
        query = query.where(endpoints.c.framework == where.framework.value)
    if where.origin is not None:
        query = query.where(
            endpoints.c.origin.is_(None)
            if where.origin == ""
            else endpoints.c.origin == where.origin
        )
    if where.only_id is not None:
        query = query.where(endpoints.c.id == where.only_id)
    if where.vendor_id is not None:
        query = query.where(endpoints.c.vendor_id == where.vendor_id)
    return query


class ChangeRepository(Repository):
    def page_endpoints(
        self,
        project_id: int,
        where: EndpointFilter = EndpointFilter(),
        *,
        limit: int,
        after_id: int = 0,
        offset: int = 0,
    ) -> Sequence[Endpoint]:
        query = _filtered(select(endpoints), project_id, where).where(endpoints.c.id > after_id)
        query = query.order_by(endpoints.c.id).offset(offset).limit(limit)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [endpoint_from_row(row) for row in rows]

    def count_endpoints(self, project_id: int, where: EndpointFilter = EndpointFilter()) -> int:
        query = _filtered(select(func.count()).select_from(endpoints), project_id, where)
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def get_endpoints(self, endpoint_ids: Collection[int]) -> Sequence[Endpoint]:
        with self._engine.connect() as conn:
            return _endpoints_of(conn, endpoint_ids)

    def list_replicas_of(self, endpoint_ids: Collection[int]) -> Sequence[Replica]:
        """The live (not STOPPED) replicas of these endpoints, by id."""
        with self._engine.connect() as conn:
            return _replicas_of(conn, endpoint_ids)

    def reconcile_candidates(self, since: datetime | None) -> ReconcileCandidates:
        live = select(replicas.c.endpoint_id).where(replicas.c.state.in_(_LIVE))
        steady = union(
            live,
            select(endpoints.c.id).where(endpoints.c.autoscaled.is_(True)),
            select(endpoints.c.id).where(endpoints.c.desired_state == DesiredState.DELETED.value),
            *(
                ()
                if since is None
                else (select(endpoints.c.id).where(endpoints.c.updated_at >= since),)
            ),
        )
        with self._engine.connect() as conn:
            ids = frozenset(int(i) for i in conn.execute(steady).scalars())
            high = conn.execute(select(func.max(endpoints.c.updated_at))).scalar()
        return ReconcileCandidates(ids, high)

    def route_changes(self, since: datetime | None) -> RouteChanges:
        with self._engine.connect() as conn:
            high = _newest(conn)
            if since is None:
                rows = conn.execute(select(endpoints).order_by(endpoints.c.id)).all()
                found = tuple(endpoint_from_row(row) for row in rows)
                live = conn.execute(
                    select(replicas).where(replicas.c.state.in_(_LIVE)).order_by(replicas.c.id)
                ).all()
                names = dict(conn.execute(select(projects.c.id, projects.c.name)).tuples().all())
                return RouteChanges(
                    found,
                    tuple(replica_from_row(r) for r in live),
                    frozenset(),
                    names,
                    high,
                    full=True,
                    touched=frozenset(e.id for e in found),
                )
            touched = frozenset(
                int(i)
                for i in conn.execute(
                    union(
                        select(endpoints.c.id).where(endpoints.c.updated_at >= since),
                        select(replicas.c.endpoint_id).where(replicas.c.state_changed_at >= since),
                    )
                ).scalars()
            )
            deleted = frozenset(
                int(i)
                for i in conn.execute(
                    select(endpoint_deletions.c.endpoint_id).where(
                        endpoint_deletions.c.deleted_at >= since
                    )
                ).scalars()
            )
            found = _endpoints_of(conn, touched)
            project_ids = {e.project_id for e in found}
            names = dict(
                conn.execute(
                    select(projects.c.id, projects.c.name).where(projects.c.id.in_(project_ids))
                )
                .tuples()
                .all()
            )
            return RouteChanges(
                found,
                tuple(_replicas_of(conn, touched)),
                deleted - {e.id for e in found},
                names,
                high,
                touched=touched,
            )


def _newest(conn: Connection) -> datetime | None:
    """The newest stamp of any change the route table follows (each max() is one index seek)."""
    stamps = [
        conn.execute(select(func.max(column))).scalar()
        for column in (
            endpoints.c.updated_at,
            replicas.c.state_changed_at,
            endpoint_deletions.c.deleted_at,
        )
    ]
    present = [s for s in stamps if s is not None]
    return max(present) if present else None


def _endpoints_of(conn: Connection, ids: Collection[int]) -> tuple[Endpoint, ...]:
    found = [
        endpoint_from_row(row)
        for chunk in _chunks(ids)
        for row in conn.execute(select(endpoints).where(endpoints.c.id.in_(chunk)))
    ]
    return tuple(sorted(found, key=lambda e: e.id))


def _replicas_of(conn: Connection, endpoint_ids: Collection[int]) -> list[Replica]:
    found = [
        replica_from_row(row)
        for chunk in _chunks(endpoint_ids)
        for row in conn.execute(
            select(replicas).where(replicas.c.endpoint_id.in_(chunk), replicas.c.state.in_(_LIVE))
        )
    ]
    return sorted(found, key=lambda r: r.id)


def _chunks(ids: Collection[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]
