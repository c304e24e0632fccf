"""Async invocations: a durable queue worked under leases (at-least-once delivery).

A claim hands rows to one worker with a lease; every later write by that worker is a
compare-and-set on (id, lease_owner, IN_PROGRESS), so a worker whose lease lapsed (it stalled,
or its server died and another took the row) cannot overwrite what the new holder does.
PostgreSQL claims with `SELECT ... FOR UPDATE SKIP LOCKED` (concurrent claimers skip each
other's rows instead of queueing); SQLite, which has one writer at a time, renders the same
statement without the lock clause and relies on the UPDATE checking each row again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from modelport.domain.errors import Conflict, NotFound, QuotaExceeded
from modelport.domain.invocations import (
    PENDING_STATUSES,
    Invocation,
    InvocationPage,
    InvocationStatus,
    NewInvocation,
    new_invocation_id,
)
from modelport.store.repository import Repository
from modelport.store.rows import invocation_from_row
from modelport.store.tables import endpoints, invocations

_PENDING = [s.value for s in PENDING_STATUSES]
_QUEUED = InvocationStatus.QUEUED.value
_IN_PROGRESS = InvocationStatus.IN_PROGRESS.value


class InvocationRepository(Repository):
    def create_invocation(
        self, new: NewInvocation, *, now: datetime, ttl_seconds: float, queue_limit: int
    ) -> tuple[Invocation, bool]:
        """Store a QUEUED invocation; with an idempotency key already used on this endpoint,
        the existing one instead (False: not created). QuotaExceeded when the endpoint has
        `queue_limit` pending already; NotFound if the endpoint is gone."""
        try:
            return self._create(new, now, ttl_seconds, queue_limit)
        except IntegrityError:
            # A concurrent submission with the same key won the unique constraint: answer it.
            existing = self._by_key(new.endpoint_id, new.idempotency_key)
            if existing is None:
                raise
            return existing, False

    def _create(
        self, new: NewInvocation, now: datetime, ttl_seconds: float, queue_limit: int
    ) -> tuple[Invocation, bool]:
        with self._engine.begin() as conn:
            # A no-op write locks the endpoint (its row on PostgreSQL, the database on SQLite):
            # submissions to one endpoint queue here, so the limit below is exact.
            locked = conn.execute(
                update(endpoints)
                .where(endpoints.c.id == new.endpoint_id)
                .values(name=endpoints.c.name)
                .returning(endpoints.c.id)
            ).first()
            if locked is None:
                raise NotFound(f"endpoint {new.endpoint_id} not found", field="endpoint_id")
            if new.idempotency_key is not None:
                row = conn.execute(
                    select(invocations).where(
                        invocations.c.endpoint_id == new.endpoint_id,
                        invocations.c.idempotency_key == new.idempotency_key,
                    )
                ).first()
                if row is not None:
                    return invocation_from_row(row), False
            pending = conn.execute(
                select(func.count())
                .select_from(invocations)
                .where(
                    invocations.c.endpoint_id == new.endpoint_id,
                    invocations.c.status.in_(_PENDING),
                )
            ).scalar_one()
            if pending >= queue_limit:
                raise QuotaExceeded(
                    f"the endpoint's async queue is full ({pending} of {queue_limit} pending)",
                    field="queue",
                    retry_after=5.0,
                )
            row = conn.execute(
                insert(invocations)
                .values(
                    id=new_invocation_id(),
                    project_id=new.project_id,
                    endpoint_id=new.endpoint_id,
                    status=_QUEUED,
                    method=new.method,
                    path=new.path,
                    body=new.body,
                    headers=json.dumps([list(h) for h in new.headers]),
                    idempotency_key=new.idempotency_key,
                    attempts=0,
                    created_at=now,
                    expires_at=now + timedelta(seconds=ttl_seconds),
                )
                .returning(*invocations.c)
            ).one()
        return invocation_from_row(row), True

    def _by_key(self, endpoint_id: int, key: str | None) -> Invocation | None:
        if key is None:
            return None
        with self._engine.connect() as conn:
            row = conn.execute(
                select(invocations).where(
                    invocations.c.endpoint_id == endpoint_id,
                    invocations.c.idempotency_key == key,
                )
            ).first()
        return None if row is None else invocation_from_row(row)

    def get_invocation(self, endpoint_id: int, invocation_id: str) -> Invocation:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(invocations).where(
                    invocations.c.endpoint_id == endpoint_id, invocations.c.id == invocation_id
                )
            ).first()
        if row is None:
            raise NotFound(f"invocation {invocation_id!r} not found", field="invocation_id")
        return invocation_from_row(row)

    def list_invocations(
        self,
        endpoint_id: int,
        *,
        statuses: Sequence[InvocationStatus] = (),
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> InvocationPage:
        """Newest first. `statuses` empty: any; `since`: created at or after it."""
        conditions: list[ColumnElement[bool]] = [invocations.c.endpoint_id == endpoint_id]
        if statuses:
            conditions.append(invocations.c.status.in_([s.value for s in statuses]))
        if since is not None:
            conditions.append(invocations.c.created_at >= since)
        query = (
            select(invocations)
            .where(*conditions)
            .order_by(invocations.c.created_at.desc(), invocations.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        count = select(func.count()).select_from(invocations).where(*conditions)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
            total = conn.execute(count).scalar_one()
        return InvocationPage(items=tuple(invocation_from_row(r) for r in rows), total=total)

    def cancel_invocation(self, endpoint_id: int, invocation_id: str, now: datetime) -> Invocation:
        """QUEUED -> CANCELED. Conflict naming its status if a worker has it or it is done."""
        with self._engine.begin() as conn:
            row = conn.execute(
                update(invocations)
                .where(
                    invocations.c.endpoint_id == endpoint_id,
                    invocations.c.id == invocation_id,
                    invocations.c.status == _QUEUED,
                )
                .values(status=InvocationStatus.CANCELED.value, finished_at=now)
                .returning(*invocations.c)
            ).first()
        if row is not None:
            return invocation_from_row(row)
        current = self.get_invocation(endpoint_id, invocation_id)  # NotFound if absent
        raise Conflict(
            f"invocation {invocation_id!r} is {current.status.value}; only a queued one can be "
            "canceled",
            field="status",
        )

    # --- workers ----------------------------------------------------------------------------
    def claim_invocations(
        self, endpoint_id: int, owner: str, limit: int, *, lease_seconds: float, now: datetime
    ) -> Sequence[Invocation]:
        """Up to `limit` rows, oldest first: QUEUED ones due now (not expired), and
        IN_PROGRESS ones whose lease lapsed. Each becomes IN_PROGRESS under `owner`'s lease
        with one more attempt."""
        if limit <= 0:
            return []
        claimable = or_(
            and_(
                invocations.c.status == _QUEUED,
                invocations.c.expires_at > now,
                or_(invocations.c.available_at.is_(None), invocations.c.available_at <= now),
            ),
            and_(invocations.c.status == _IN_PROGRESS, invocations.c.lease_expires_at <= now),
        )
        # Two steps in one transaction: PostgreSQL may run an `IN (SELECT ... LIMIT n)`
        # subquery more than once and so claim more than n rows. The UPDATE checks again that
        # each row is claimable, so on SQLite (no row locks) a row another claimer took between
        # the two statements is simply left out.
        chosen = (
            select(invocations.c.id)
            .where(invocations.c.endpoint_id == endpoint_id, claimable)
            .order_by(invocations.c.created_at, invocations.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL only; SQLite renders none
        )
        with self._engine.begin() as conn:
            ids = list(conn.execute(chosen).scalars())
            if not ids:
                return []
            rows = conn.execute(
                update(invocations)
                .where(invocations.c.id.in_(ids), claimable)
                .values(
                    status=_IN_PROGRESS,
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    attempts=invocations.c.attempts + 1,
                    started_at=func.coalesce(invocations.c.started_at, now),
                    available_at=None,
                )
                .returning(*invocations.c)
            ).all()
        return sorted((invocation_from_row(r) for r in rows), key=lambda i: (i.created_at, i.id))

    def renew_invocation_lease(
        self, invocation_id: str, owner: str, *, lease_seconds: float, now: datetime
    ) -> bool:
        """Extend the lease; False if `owner` no longer holds it (stop working the row)."""
        return self._held_update(
            invocation_id, owner, lease_expires_at=now + timedelta(seconds=lease_seconds)
        )

    def release_invocation(
        self,
        invocation_id: str,
        owner: str,
        *,
        available_at: datetime | None,
        error: str | None,
        give_back_attempt: bool = False,
    ) -> bool:
        """Back to QUEUED for a retry at `available_at`; `give_back_attempt` when the replica
        never got the request (no READY replica): waiting for capacity burns no attempt."""
        changes: dict[str, Any] = {
            "status": _QUEUED,
            "lease_owner": None,
            "lease_expires_at": None,
            "available_at": available_at,
            "error": error,
        }
        if give_back_attempt:
            changes["attempts"] = invocations.c.attempts - 1
        return self._held_update(invocation_id, owner, **changes)

    def finish_invocation(
        self,
        invocation_id: str,
        owner: str,
        *,
        status: InvocationStatus,
        now: datetime,
        response_status: int | None,
        result_location: str | None,
        error: str | None,
    ) -> bool:
        """IN_PROGRESS -> a final status, only while `owner` holds the lease (False if not)."""
        if not status.final:
            raise ValueError(f"finish needs a final status, not {status.value}")
        return self._held_update(
            invocation_id,
            owner,
            status=status.value,
            finished_at=now,
            lease_owner=None,
            lease_expires_at=None,
            response_status=response_status,
            result_location=result_location,
            error=error,
        )

    def _held_update(self, invocation_id: str, owner: str, **changes: Any) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(invocations)
                .where(
                    invocations.c.id == invocation_id,
                    invocations.c.lease_owner == owner,
                    invocations.c.status == _IN_PROGRESS,
                )
                .values(changes)
            )
        return result.rowcount == 1

    def expire_invocations(self, now: datetime) -> int:
        """QUEUED rows past their TTL become EXPIRED (started ones are finished instead:
        their request may already have reached a replica). Returns how many."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(invocations)
                .where(invocations.c.status == _QUEUED, invocations.c.expires_at <= now)
                .values(
                    status=InvocationStatus.EXPIRED.value,
                    finished_at=now,
                    error="expired: still queued when its time to live ran out",
                )
            )
        return result.rowcount

    def invocation_backlog(self, endpoint_id: int | None = None) -> Mapping[int, int]:
        """Pending (QUEUED + IN_PROGRESS) invocations per endpoint id, in one grouped query
        (of one endpoint, or of all when None); endpoints with none are absent."""
        query = (
            select(invocations.c.endpoint_id, func.count())
            .where(invocations.c.status.in_(_PENDING))
            .group_by(invocations.c.endpoint_id)
        )
        if endpoint_id is not None:
            query = query.where(invocations.c.endpoint_id == endpoint_id)
        with self._engine.connect() as conn:
            return {endpoint: count for endpoint, count in conn.execute(query).all()}
