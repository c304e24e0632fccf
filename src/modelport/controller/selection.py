"""Which endpoints a tick reconciles: work grows with what changed, not with what exists.

Between slow full passes (`controller_resync_interval`) a tick reads only the store's
candidates (store.reconcile_candidates: endpoints with live replicas, autoscaled ones, those
being deleted, those updated since the watermark) plus what the controller itself carries over:
endpoints poked (a request is held for them) and endpoints whose last reconcile failed or
decided something. An idle or stopped endpoint with no live replica costs nothing until it
changes. The watermark is the newest stored updated_at minus OVERLAP, so a write committed
late with a slightly older stamp is still seen (the endpoints changed within OVERLAP of the
newest change are read each tick until a newer one moves it); the full pass catches the rest.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from modelport.clock import Clock
from modelport.store.paging import ReconcileCandidates

OVERLAP = timedelta(seconds=10)


class TickSelector:
    def __init__(self, clock: Clock, resync_interval: float) -> None:
        self._clock = clock
        self._resync = resync_interval
        self._since: datetime | None = None  # None: no watermark yet, the next tick is full
        self._next_full = 0.0
        self._carried: set[int] = set()

    @property
    def since(self) -> datetime | None:
        """The watermark to ask the store's candidates from."""
        return self._since

    def carry(self, endpoint_id: int) -> None:
        """Reconcile this endpoint in the next tick whatever the store says."""
        self._carried.add(endpoint_id)

    def choose(self, found: ReconcileCandidates) -> frozenset[int] | None:
        """The ids to reconcile this tick, or None for a full pass over every endpoint."""
        now = self._clock.monotonic()
        full = self._since is None or now >= self._next_full
        if found.high_water is not None:
            self._since = found.high_water - OVERLAP
        carried, self._carried = frozenset(self._carried), set()
        if full:
            self._next_full = now + self._resync
            return None
        return found.ids | carried

    def resync_soon(self) -> None:
        """The next tick is a full pass (a new term: nothing remembered is trusted)."""
        self._since = None
