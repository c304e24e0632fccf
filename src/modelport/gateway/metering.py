"""Usage metering of one gateway process: counted in memory, added to the store every 10 s.

Every process (`--gateway-workers N`) meters the requests it served into its own 10 s buckets
(no lock: the event loop's thread only) and a background task adds them to the store
(`store/usage.py`: the 10 s row and its hour's row) every `FLUSH_INTERVAL` and at shutdown.
A flush the store refused is kept and added to the next one. Graphs and usage therefore lag
requests by at most about one interval; the API does not merge a process's unflushed buckets
(with several processes and servers it could only ever show its own).

What counts: every request routed to an endpoint (proxied, held, refused there); an error is a
5xx status (the engine's, or the gateway's 502 / 503 / 504 for an endpoint that failed, had no
replica or timed out); a client that left (499) and 4xx answers are not errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from bisect import bisect_left
from collections.abc import Callable

from modelport.gateway.metering_tap import UsageTap
from modelport.gateway.metrics import CLIENT_CLOSED
from modelport.gateway.routes import EndpointRoute
from modelport.store.usage import (
    FINE,
    LATENCY_BOUNDS_MS,
    Counts,
    CountsDelta,
    EndpointKey,
    UsageStore,
)

log = logging.getLogger("modelport.gateway.metering")

FLUSH_INTERVAL = 10.0  # seconds between two flushes of a process's buckets


def is_error(status: int) -> bool:
    return status >= 500 and status != CLIENT_CLOSED


class UsageMeter:
    """This process's counts not yet in the store, by endpoint and 10 s bucket."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._open: dict[tuple[int, int], tuple[EndpointKey, Counts]] = {}

    def record(
        self, route: EndpointRoute, status: int, seconds: float, tap: UsageTap | None
    ) -> None:
        now = int(self._now())
        bucket = now - now % FINE
        slot = self._open.get((route.endpoint_id, bucket))
        if slot is None:
            key = EndpointKey(route.endpoint_id, route.project_id, route.name)
            slot = self._open[(route.endpoint_id, bucket)] = (key, Counts())
        counts = slot[1]
        counts.requests += 1
        if is_error(status):
            counts.errors += 1
        counts.latency[bisect_left(LATENCY_BOUNDS_MS, seconds * 1000)] += 1
        if tap is not None:
            counts.prompt_tokens += tap.prompt
            counts.completion_tokens += tap.completion
            counts.estimated += tap.estimated

    def drain(self) -> list[CountsDelta]:
        """Everything counted since the last drain; the meter starts again from zero."""
        opened, self._open = self._open, {}
        return [CountsDelta(key, bucket, counts) for (_, bucket), (key, counts) in opened.items()]

    def restore(self, deltas: list[CountsDelta]) -> None:
        """Put back deltas the store did not take (added to what came since)."""
        for delta in deltas:
            slot = self._open.get((delta.key.endpoint_id, delta.bucket))
            if slot is None:
                self._open[(delta.key.endpoint_id, delta.bucket)] = (delta.key, delta.counts)
            else:
                slot[1].add(delta.counts)


class UsageFlusher:
    """Adds a meter's counts to the store every `interval`, and once more when stopped."""

    def __init__(
        self, store: UsageStore, meter: UsageMeter, interval: float = FLUSH_INTERVAL
    ) -> None:
        self._store = store
        self._meter = meter
        self._interval = interval

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self._interval)
            await self.flush()
        await self.flush()

    async def flush(self) -> None:
        deltas = self._meter.drain()
        if not deltas:
            return
        try:
            await asyncio.to_thread(self._store.add_usage, deltas)
        except Exception:
            log.warning("could not store usage of %d buckets; kept for the next flush",
                        len(deltas), exc_info=True)  # fmt: skip
            self._meter.restore(deltas)
