"""The controller's leader lease, and the fence every controller write passes.

The lease row's generation grows each time the lease changes hands. A controller's writes
carry the fence it got (holder + generation); `hold_fence` checks it in the write's own
transaction, so a deposed controller's late writes are refused instead of landing beside the
new leader's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, and_, case, or_, update
from sqlalchemy.dialects import postgresql, sqlite

from modelport.domain.errors import LeaseLost
from modelport.domain.records import LeaseFence
from modelport.store.repository import Repository
from modelport.store.tables import leases

# A released lease expires at once; its row stays so that the generation keeps growing.
_RELEASED = datetime(1970, 1, 1, tzinfo=UTC)


class LeaseRepository(Repository):
    def try_acquire_lease(
        self, name: str, holder: str, ttl_seconds: float, now: datetime
    ) -> LeaseFence | None:
        """One upsert: insert, or take over a lease that is ours or has expired.

        The conditional DO UPDATE is atomic on both databases, so of two contenders for an
        expired lease exactly one gets a row back. Renewing a live lease keeps its generation;
        any other acquisition (a new holder, or ours after it expired) moves it on.
        """
        expires_at = now + timedelta(seconds=ttl_seconds)
        renewal = and_(leases.c.holder == holder, leases.c.expires_at > now)
        with self._engine.begin() as conn:
            upsert = _insert_for(conn)(leases).values(
                name=name, holder=holder, expires_at=expires_at, generation=1
            )
            upsert = upsert.on_conflict_do_update(
                index_elements=[leases.c.name],
                set_={
                    "holder": holder,
                    "expires_at": expires_at,
                    "generation": case(
                        (renewal, leases.c.generation), else_=leases.c.generation + 1
                    ),
                },
                where=or_(leases.c.holder == holder, leases.c.expires_at <= now),
            )
            generation = conn.execute(upsert.returning(leases.c.generation)).scalar()
        if generation is None:
            return None
        return LeaseFence(name=name, holder=holder, generation=generation)

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up early; a lease someone else holds is left alone."""
        with self._engine.begin() as conn:
            conn.execute(
                update(leases)
                .where(leases.c.name == name, leases.c.holder == holder)
                .values(expires_at=_RELEASED)
            )


def hold_fence(conn: Connection, fence: LeaseFence | None) -> None:
    """Refuse the transaction's writes (LeaseLost) unless the lease is still `fence`'s.

    The check is a no-op write to the lease row, so it also locks that row (PostgreSQL) or the
    database (SQLite) until commit: a takeover waits for this transaction, never slips into
    the middle of it. No fence (None): an unfenced write, e.g. by the API.
    """
    if fence is None:
        return
    held = conn.execute(
        update(leases)
        .where(
            leases.c.name == fence.name,
            leases.c.holder == fence.holder,
            leases.c.generation == fence.generation,
        )
        .values(generation=leases.c.generation)
        .returning(leases.c.generation)
    ).first()
    if held is None:
        raise LeaseLost(
            f"lease {fence.name!r} generation {fence.generation} of {fence.holder} has moved on"
        )


def _insert_for(conn: Connection) -> type[postgresql.Insert] | type[sqlite.Insert]:
    # Both dialects' Insert have on_conflict_do_update with the same arguments.
    return postgresql.Insert if conn.dialect.name == "postgresql" else sqlite.Insert
