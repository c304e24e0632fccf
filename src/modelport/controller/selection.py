"""Which endpoints a tick reconciles: work grows with what changed, not with what exists.

Between slow full passes (`controller_resync_interval`) a tick reads only the store's
candidates (store.reconcile_candidates: endpoints with live replicas, autoscaled ones, those
being deleted, those updated since the watermark) plus what the controller itself carries over:
endpoints poked (a request is held for them) and endpoints whose last reconcile failed or
decided something. An idle or stopped endpoint with no live replica costs nothing until it
changes. The watermark (store/watermark.py) reads from the newest stored updated_at minus an
overlap while changes keep coming, so a write committed late with a slightly older stamp is
still seen, and from the newest stamp on once they have settled; the full pass catches the rest.
"""

from __future__ import annotations

from datetime import datetime

from modelport.clock import Clock
from modelport.store.paging import ReconcileCandidates
from modelport.store.watermark import Watermark


class TickSelector:
    def __init__(self, clock: Clock, resync_interval: float) -> None:
        self._clock = clock
        self._resync = resync_interval
        self._mark = Watermark(clock.monotonic)  # no stamp seen yet: the next tick is full
        self._next_full = 0.0
        self._carried: set[int] = set()

    @property
    def since(self) -> datetime | None:
        """The watermark to ask the store's candidates from."""
        return self._mark.since

    def carry(self, endpoint_id: int) -> None:
        """Reconcile this endpoint in the next tick whatever the store says."""
        self._carried.add(endpoint_id)

    def choose(self, found: ReconcileCandidates) -> frozenset[int] | None:
        """The ids to reconcile this tick, or None for a full pass over every endpoint."""
        now = self._clock.monotonic()
        full = self._mark.since is None or now >= self._next_full
        self._mark.saw(found.high_water)
        carried, self._carried = frozenset(self._carried), set()
        if full:
            self._next_full = now + self._resync
            return None
        return found.ids | carried

    def resync_soon(self) -> None:
        """The next tick is a full pass (a new term: nothing remembered is trusted)."""
        self._mark.forget()
