"""The controller's hold on the leader lease, as its own monotonic clock sees it.

The store keeps the lease for `ttl` (5 ticks) past each renewal. The controller renews every
tick, and between endpoints when a tick runs long, and stops acting once less than `margin`
(2 ticks) of that may remain, counted from just before its last successful renewal was sent:
it gives up before any other controller can take over. Its writes carry the lease's fence, so
the store refuses them should the lease have moved on anyway (a paused process, a skewed clock).
"""

from __future__ import annotations

import asyncio
from enum import StrEnum

from modelport.clock import Clock
from modelport.domain.errors import LeaseLost
from modelport.domain.records import LeaseFence
from modelport.store.base import Store

TTL_TICKS = 5
MARGIN_TICKS = 2


class LeaseStatus(StrEnum):
    """Whether this controller may act."""

    UNCLAIMED = "unclaimed"  # never asked for: tick() driven directly (unit tests), unfenced
    HELD = "held"  # ours, with time to spare
    LOST = "lost"  # another holds it, or ours may be running out: no acting


class LeaseKeeper:
    def __init__(self, store: Store, name: str, holder: str, clock: Clock, interval: float) -> None:
        self._store = store
        self._name = name
        self.holder = holder
        self._clock = clock
        self._interval = interval
        self.ttl = TTL_TICKS * interval
        self._acting_window = (TTL_TICKS - MARGIN_TICKS) * interval
        self.status = LeaseStatus.UNCLAIMED
        self._fence: LeaseFence | None = None
        self._renewed_at = 0.0  # monotonic, taken before the last successful renewal was sent

    @property
    def generation(self) -> int | None:
        """The generation held, None when not held."""
        return self._fence.generation if self.status is LeaseStatus.HELD and self._fence else None

    async def acquire(self) -> bool:
        """Take or renew the lease; True if it is ours (with time to spare) now."""
        sent = self._clock.monotonic()
        fence = await asyncio.to_thread(
            self._store.try_acquire_lease, self._name, self.holder, self.ttl, self._clock.now()
        )
        if fence is None:
            self.status, self._fence = LeaseStatus.LOST, None
            return False
        self.status, self._fence, self._renewed_at = LeaseStatus.HELD, fence, sent
        return True

    async def keep(self) -> None:
        """Mid-tick: renew once a tick has passed since the last renewal. LeaseLost if the
        lease cannot be kept, or was lost and retaken meanwhile (a new term: end the tick)."""
        if self.status is LeaseStatus.UNCLAIMED:
            return
        held = self.generation
        due = self._clock.monotonic() - self._renewed_at >= self._interval
        if due and (not await self.acquire() or self.generation != held):
            self.status = LeaseStatus.LOST
            raise LeaseLost(f"controller {self.holder} could not keep the lease")
        self.fence()

    def fence(self) -> LeaseFence | None:
        """The fence for a write (or a runtime action) now; LeaseLost once the lease may be
        running out. None when the lease was never claimed (writes go unfenced)."""
        if self.status is LeaseStatus.UNCLAIMED:
            return None
        in_time = self._clock.monotonic() - self._renewed_at < self._acting_window
        if self.status is LeaseStatus.HELD and self._fence is not None and in_time:
            return self._fence
        self.status = LeaseStatus.LOST
        raise LeaseLost(f"controller {self.holder} no longer holds the lease with time to spare")

    async def release(self) -> None:
        """Give the lease up (it expires at once in the store) if this controller claimed it."""
        if self.status is LeaseStatus.UNCLAIMED:
            return
        self.status, self._fence = LeaseStatus.LOST, None
        await asyncio.to_thread(self._store.release_lease, self._name, self.holder)
