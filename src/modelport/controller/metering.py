"""Replica-seconds by plan, and the graphs' gauges, accounted by the leading controller.

Each leader tick adds, for every replica whose process runs (STARTING, READY, DRAINING: from
launch until it is stopped; PENDING has no process yet, FAILED none any more), the seconds
since the previous tick under its endpoint's plan (services/usage_plans.py), with the cost at
the plan's hourly price. A gap longer than `MAX_GAP` (a stalled or new leader) counts as
`MAX_GAP`: time nobody watched is not billed. The same tick samples, per endpoint with
replicas, requests in flight to them (every server's), replicas READY and wanted, into the
10 s bucket. Both go to the store every `FLUSH_INTERVAL` and at shutdown; old rows are pruned
about every `PRUNE_EVERY` (store/usage.py: 10 s rows after 48 h, hourly after 400 days).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from modelport.catalog import PlanCatalog
from modelport.clock import Clock
from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import DesiredState, ReplicaState
from modelport.services.usage_plans import plan_price
from modelport.store.usage import FINE, HOURLY, EndpointKey, Gauges, PlanDelta, UsageStore

log = logging.getLogger(__name__)

COUNTED = frozenset({ReplicaState.STARTING, ReplicaState.READY, ReplicaState.DRAINING})
FLUSH_INTERVAL = 10.0
MAX_GAP = 30.0  # seconds at most accounted between two ticks
PRUNE_EVERY = 600.0
FINE_KEPT = 48 * 3600
HOURLY_KEPT = 400 * 86400


class ReplicaMeter:
    def __init__(
        self,
        store: UsageStore,
        clock: Clock,
        plans: PlanCatalog,
        inflight: Callable[[int], int],
        interval: float = FLUSH_INTERVAL,
    ) -> None:
        self._store = store
        self._clock = clock
        self._plans = plans
        self._inflight = inflight
        self._interval = interval
        self._last: float | None = None  # monotonic time of the previous tick
        self._flushed = clock.monotonic()
        self._pruned: float | None = None
        self._seconds: dict[tuple[EndpointKey, int, str], PlanDelta] = {}
        self._gauges: dict[tuple[int, int], Gauges] = {}

    async def tick(self, endpoints: Sequence[Endpoint], replicas: Sequence[Replica]) -> None:
        """Account this tick; errors are logged, never raised (metering never stops a tick)."""
        try:
            self.observe(endpoints, replicas)
            if self._clock.monotonic() - self._flushed >= self._interval:
                await self.flush()
        except Exception:
            log.exception("usage metering failed this tick")

    def observe(self, endpoints: Sequence[Endpoint], replicas: Sequence[Replica]) -> None:
        now = self._clock.monotonic()
        elapsed = 0.0 if self._last is None else min(max(now - self._last, 0.0), MAX_GAP)
        self._last = now
        wall = int(self._clock.now().timestamp())
        running: dict[int, list[Replica]] = {}
        for replica in replicas:
            if replica.state in COUNTED:
                running.setdefault(replica.endpoint_id, []).append(replica)
        for endpoint in endpoints:
            live = running.get(endpoint.id, [])
            wanted = (
                endpoint.wanted_replicas if endpoint.desired_state is DesiredState.RUNNING else 0
            )
            if not live and not wanted:
                continue  # idle at zero or stopped: nothing to bill or draw
            key = EndpointKey(endpoint.id, endpoint.project_id, endpoint.name)
            if live and elapsed:
                self._bill(key, endpoint, len(live) * elapsed, wall - wall % HOURLY)
            ready = sum(1 for r in live if r.state is ReplicaState.READY)
            in_flight = sum(self._inflight(r.id) for r in live)
            bucket = wall - wall % FINE
            self._gauges[(endpoint.id, bucket)] = Gauges(key, bucket, in_flight, ready, wanted)

    async def close(self) -> None:
        """At shutdown: what was accounted since the last flush goes to the store."""
        try:
            await self.flush()
        except Exception:
            log.exception("could not store the last usage at shutdown")

    async def flush(self) -> None:
        seconds, self._seconds = list(self._seconds.values()), {}
        gauges, self._gauges = list(self._gauges.values()), {}
        self._flushed = self._clock.monotonic()
        try:
            await asyncio.to_thread(self._store.add_plan_seconds, seconds)
        except Exception:
            for delta in seconds:  # kept for the next flush
                self._add(delta)
            raise
        await asyncio.to_thread(self._store.set_gauges, gauges)
        if self._pruned is None or self._flushed - self._pruned >= PRUNE_EVERY:
            self._pruned = self._flushed
            wall = int(self._clock.now().timestamp())
            await asyncio.to_thread(self._store.prune_usage, wall - FINE_KEPT, wall - HOURLY_KEPT)

    def _bill(self, key: EndpointKey, endpoint: Endpoint, seconds: float, hour: int) -> None:
        price = plan_price(endpoint.spec, self._plans)
        cost = seconds * price.price_per_hour / 3600
        self._add(PlanDelta(key, hour, price.plan, seconds, cost, price.currency))

    def _add(self, delta: PlanDelta) -> None:
        slot = (delta.key, delta.bucket, delta.plan)
        kept = self._seconds.get(slot)
        if kept is not None:
            delta = PlanDelta(delta.key, delta.bucket, delta.plan,
                              kept.replica_seconds + delta.replica_seconds,
                              kept.cost + delta.cost, delta.currency)  # fmt: skip
        self._seconds[slot] = delta
