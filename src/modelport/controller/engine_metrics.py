"""Engine gauges for the autoscaler: `custom` rules' metrics scraped from serving replicas'
Prometheus route, and `cpu` rules' CPU use measured through the runtime (CpuMeter, below).

A scrape never holds up a tick: one that is due runs as a task (at most one in flight per
replica) and hands what it read to a sink (the autoscaler's MetricsWindow) when it ends. The
request carries the replica's key, as the proxy's and the probes' do: engines require it of
every caller. A replica that answers no such metric (llama.cpp without `--metrics`, a 404)
simply contributes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from modelport.clock import Clock
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import ScaleMetric

log = logging.getLogger(__name__)

METRICS_PATH = "/metrics"  # vLLM, SGLang, TGI, llama.cpp (with --metrics) all serve it here
_TIMEOUT_SECONDS = 2.0
CPU_GAUGE = ScaleMetric.CPU.value  # the engine gauge a cpu rule reads (autoscaler/policy.py)
# Readings closer together than this are not turned into a percent: /proc counts in 10 ms
# ticks, so a short span (a poked tick right after another) would be mostly rounding.
MIN_CPU_SPAN_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class EngineSample:
    endpoint: str  # str(endpoint_id), as the window keys endpoints
    replica: str  # str(replica_id): one source per replica
    name: str
    at: float  # monotonic seconds when the answer came
    value: float  # the sum over the metric's label sets


EngineSink = Callable[[EngineSample], None]


def read_gauges(text: str, names: Collection[str]) -> dict[str, float]:
    """The named metrics' values in a Prometheus text page, each summed over its label sets."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in names:
                found[sample.name] = found.get(sample.name, 0.0) + sample.value
    return found


class EngineScraper:
    def __init__(self, clock: Clock, sink: EngineSink, unseal: Callable[[str], str]) -> None:
        self._clock = clock
        self._sink = sink
        self._unseal = unseal  # opens a handle's sealed replica key
        self._last: dict[int, float] = {}  # replica id -> monotonic start of its last scrape
        self._running: dict[int, asyncio.Task[None]] = {}
        self._session: aiohttp.ClientSession | None = None

    def due(
        self,
        endpoint_id: int,
        serving: Sequence[tuple[int, ReplicaHandle]],
        names: Collection[str],
        every: float,
    ) -> None:
        """Start a scrape of each serving (replica id, handle) whose last one began `every`
        seconds ago."""
        now = self._clock.monotonic()
        for replica_id, handle in serving:
            if replica_id in self._running:
                continue  # a slow engine is not asked again before it answered
            last = self._last.get(replica_id)
            if last is not None and now - last < every:
                continue
            self._last[replica_id] = now
            task = asyncio.create_task(
                self._scrape(str(endpoint_id), replica_id, handle, tuple(names)),
                name=f"metrics scrape of replica {replica_id}",
            )
            self._running[replica_id] = task
            task.add_done_callback(partial(self._ended, replica_id))

    def _ended(self, replica_id: int, _task: asyncio.Task[None]) -> None:
        self._running.pop(replica_id, None)

    def forget_all_but(self, replica_ids: set[int]) -> None:
        for gone in set(self._last) - replica_ids:
            self._last.pop(gone, None)
            task = self._running.pop(gone, None)
            if task is not None:
                task.cancel()

    async def wait(self) -> None:
        """Until every scrape started so far has ended (each bounded by its timeout)."""
        await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def close(self) -> None:
        for task in self._running.values():
            task.cancel()
        await self.wait()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _scrape(
        self, endpoint: str, replica_id: int, handle: ReplicaHandle, names: tuple[str, ...]
    ) -> None:
        text = await self._fetch(handle)
        if text is None:
            return
        try:
            values = read_gauges(text, names)
        except ValueError:
            log.debug("replica %d: unparseable %s page", replica_id, METRICS_PATH)
            return
        at = self._clock.monotonic()
        for name, value in values.items():
            self._sink(EngineSample(endpoint, str(replica_id), name, at, value))

    async def _fetch(self, handle: ReplicaHandle) -> str | None:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        sealed = handle.sealed_key
        headers = {} if sealed is None else {"Authorization": f"Bearer {self._unseal(sealed)}"}
        host = f"[{handle.host}]" if ":" in handle.host else handle.host
        try:
            async with self._session.get(
                f"http://{host}:{handle.port}{METRICS_PATH}",
                timeout=aiohttp.ClientTimeout(total=_TIMEOUT_SECONDS),
                allow_redirects=False,
                headers=headers,
            ) as resp:
                if resp.status >= 400:
                    return None
                return await resp.text()
        except (TimeoutError, aiohttp.ClientError, OSError, UnicodeDecodeError):
            return None


class CpuCounter(Protocol):
    """The runtime's side (RuntimeBackend.cpu_seconds)."""

    async def cpu_seconds(self, handles: Sequence[ReplicaHandle]) -> list[float | None]: ...


@dataclass(frozen=True, slots=True)
class CpuReading:
    process: tuple[int | None, int | None, str | None]  # pid, start time, container
    at: float
    seconds: float


def cpu_percent(before: CpuReading, after: CpuReading, cores: float) -> float | None:
    """CPU use between two readings of one process, as a percent of `cores` (100: all of
    them busy); None when they are not comparable (another process, a counter that went down,
    too short a span)."""
    span = after.at - before.at
    used = after.seconds - before.seconds
    if after.process != before.process or used < 0 or span < MIN_CPU_SPAN_SECONDS:
        return None
    return 100.0 * used / span / cores


class CpuMeter:
    """Turns serving replicas' CPU-seconds counters into a percent per replica, handed to the
    sink as the engine gauge `cpu` (one source per replica, as a scraped gauge). A replica's
    first reading only sets its baseline; one the runtime cannot measure gives nothing.

    It also remembers when an endpoint was last seen "partly blind": a serving replica without
    a sample in the last `fresh` seconds (it just became READY, or it cannot be measured). The
    load such a replica carries is missing from the endpoint's total, so a total read over that
    time must not justify a scale-down."""

    def __init__(self, clock: Clock, counter: CpuCounter, sink: EngineSink, fresh: float) -> None:
        self._clock = clock
        self._counter = counter
        self._sink = sink
        self._fresh = fresh
        self._last: dict[int, CpuReading] = {}  # replica id -> the baseline of its next sample
        self._sampled_at: dict[int, float] = {}  # replica id -> when its last sample was taken
        self._blind_at: dict[int, float] = {}  # endpoint id -> when it was last partly blind

    async def sample(
        self, endpoint_id: int, serving: Sequence[tuple[int, ReplicaHandle]], cores: float
    ) -> None:
        if not serving:
            return
        counters = await self._counter.cpu_seconds([handle for _, handle in serving])
        at = self._clock.monotonic()
        self._take(endpoint_id, serving, counters, at, cores)
        if any(at - self._sampled_at.get(rid, -math.inf) > self._fresh for rid, _ in serving):
            self._blind_at[endpoint_id] = at

    def blind_within(self, endpoint_id: int, seconds: float) -> bool:
        """Whether a serving replica of the endpoint went unmeasured in the last `seconds`."""
        blind = self._blind_at.get(endpoint_id)
        return blind is not None and self._clock.monotonic() - blind <= seconds

    def _take(
        self,
        endpoint_id: int,
        serving: Sequence[tuple[int, ReplicaHandle]],
        counters: Sequence[float | None],
        at: float,
        cores: float,
    ) -> None:
        for (replica_id, handle), seconds in zip(serving, counters, strict=True):
            if seconds is None:
                self._last.pop(replica_id, None)
                continue
            reading = CpuReading((handle.pid, handle.start_time, handle.container_id), at, seconds)
            before = self._last.get(replica_id)
            if before is not None:
                if before.process == reading.process and at - before.at < MIN_CPU_SPAN_SECONDS:
                    continue  # keep the older baseline: the next span is long enough
                percent = cpu_percent(before, reading, cores)
                if percent is not None:
                    self._sampled_at[replica_id] = at
                    self._sink(
                        EngineSample(str(endpoint_id), str(replica_id), CPU_GAUGE, at, percent)
                    )
            self._last[replica_id] = reading

    def forget_all_but(self, replica_ids: set[int], endpoint_ids: set[int]) -> None:
        for gone in set(self._last) - replica_ids:
            del self._last[gone]
        for gone in set(self._sampled_at) - replica_ids:
            del self._sampled_at[gone]
        for gone in set(self._blind_at) - endpoint_ids:
            del self._blind_at[gone]
