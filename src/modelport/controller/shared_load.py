"""The leader's view of every server's gateway load: its own from memory, the others' from the
store (several servers over one PostgreSQL; store/loads.py, gateway/load_publisher.py).

Once a tick, before it selects endpoints, the leading controller calls `refresh`: one SELECT of
every server's row. The other servers' fresh rows (written within STALE_TICKS ticks) become
- one more reporter per server in the autoscaler's window (`collect`): its in-flight per
  endpoint, and the completions since the previous read (each server counts from zero under a
  numbered `since`, so a count is never taken twice nor lost when an endpoint goes quiet);
- in-flight per replica for draining (`inflight`): a replica drains only when no server has a
  request in flight to it. A request another server starts to a replica just turned DRAINING is
  published within about a tick, so while other servers publish, a draining replica counts one
  request until SETTLE_TICKS after the controller first asked about it;
- demand: the endpoints whose requests are held on another server (no READY replica there),
  returned by `refresh` so the tick reconciles them at once.
This server's own row is skipped: its numbers come from memory, never twice. Rows silent for
PRUNE_AFTER are deleted (a killed server's). A reader that did not read for STALE_TICKS ticks
(it just started, or leads again) takes the completions it finds as a baseline, not as load.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import timedelta

from modelport.autoscaler.window import GatewayReport
from modelport.clock import Clock
from modelport.store.loads import LoadStore, PublishedLoad

log = logging.getLogger(__name__)

LoadSource = Callable[[float], Sequence[GatewayReport]]
InflightLookup = Callable[[int], int]
# Once a tick, before selecting: the endpoints whose requests are held on other servers.
DemandRead = Callable[[], Awaitable[Collection[int]]]

STALE_TICKS = 3  # a row not written for this many ticks no longer counts (as in the window)
SETTLE_TICKS = 2  # another server's request to a draining replica is published by then
UNSETTLED = 1  # what a draining replica counts while other servers may not have published
PRUNE_AFTER = timedelta(minutes=10)
PRUNE_EVERY = 60.0  # seconds between deletes of silent rows


async def no_demand() -> Collection[int]:
    return ()


class SharedLoad:
    def __init__(
        self,
        store: LoadStore,
        clock: Clock,
        server: str,
        *,
        local: LoadSource,
        local_inflight: InflightLookup,
        interval: float,
    ) -> None:
        self._store = store
        self._clock = clock
        self._server = server
        self._local = local
        self._local_inflight = local_inflight
        self._stale = STALE_TICKS * interval
        self._settle = SETTLE_TICKS * interval
        self._reports: list[GatewayReport] = []  # the other servers', until `collect`
        self._replicas: dict[int, int] = {}  # replica id -> in flight on other servers
        self._counted: dict[tuple[str, int], tuple[int, int]] = {}  # -> (since, completed)
        self._peers = False  # another server has a row: draining waits for it to publish
        self._asked: dict[int, float] = {}  # draining replica -> when first asked (monotonic)
        self._asked_lately: set[int] = set()
        self._read_at: float | None = None
        self._pruned_at = -math.inf

    async def refresh(self) -> Collection[int]:
        """Read the other servers' loads; the endpoints with requests held on one of them."""
        now = self._clock.monotonic()
        try:
            rows = await asyncio.to_thread(self._store.server_loads)
        except Exception:
            log.exception("could not read the other servers' load; counting this server's only")
            self._replicas, self._read_at = {}, None
            return ()
        cold = self._read_at is None or now - self._read_at > self._stale
        self._read_at = now
        self._asked = {r: at for r, at in self._asked.items() if r in self._asked_lately}
        self._asked_lately = set()
        if cold:
            self._reports = []
        await self._prune(now)
        return self._take([row for row in rows if row.server != self._server], now, cold)

    def collect(self, now: float) -> list[GatewayReport]:
        """The autoscaler's load source: this server's reports, then the others' last read."""
        reports = [*self._local(now), *self._reports]
        self._reports = []
        return reports

    def inflight(self, replica_id: int) -> int:
        """Requests in flight to a (draining) replica, on every server."""
        count = self._local_inflight(replica_id) + self._replicas.get(replica_id, 0)
        now = self._clock.monotonic()
        first = self._asked.setdefault(replica_id, now)
        self._asked_lately.add(replica_id)
        if not count and self._peers and now - first < self._settle:
            return UNSETTLED
        return count

    def _take(self, others: Sequence[PublishedLoad], now: float, cold: bool) -> set[int]:
        wall = self._clock.now()
        self._peers = bool(others)
        counted: dict[tuple[str, int], tuple[int, int]] = {}
        replicas: dict[int, int] = {}
        demand: set[int] = set()
        for row in others:
            fresh = (wall - row.updated_at).total_seconds() <= self._stale
            for entry in row.load.endpoints:
                key = (row.server, entry.endpoint_id)
                since, before = self._counted.get(key, (entry.since, 0))
                counted[key] = (entry.since, entry.completed)
                if not fresh:
                    continue  # remembered, so that it is not counted again if it comes back
                done = 0 if cold else entry.completed - (before if since == entry.since else 0)
                self._reports.append(
                    GatewayReport(
                        row.server, str(entry.endpoint_id), now, entry.in_flight, max(0, done)
                    )
                )
                if entry.held:
                    demand.add(entry.endpoint_id)
            if fresh:
                for replica_id, count in row.load.replicas.items():
                    replicas[replica_id] = replicas.get(replica_id, 0) + count
        self._counted, self._replicas = counted, replicas
        return demand

    async def _prune(self, now: float) -> None:
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        try:
            gone = await asyncio.to_thread(self._store.prune_loads, self._clock.now() - PRUNE_AFTER)
        except Exception:
            log.exception("could not delete silent servers' load rows; trying again later")
            return
        if gone:
            log.info("deleted the load rows of %d server(s) silent for %s", gone, PRUNE_AFTER)
