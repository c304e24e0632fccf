"""Prometheus metrics of the gateway, in their own registry (never the process-global one).

The hot path only bumps plain ints and floats in dicts: everything runs on the event loop
thread, so no locks are needed, and the Prometheus families are built from these numbers when
`/metrics` is scraped (prometheus_client's own Counter / Histogram take a lock and do label
lookups on every call, which cost more than the rest of the gateway's own code together).

Labels stay bounded: `endpoint` is the name of a routed endpoint (requests that match none are
counted under "" so client-chosen names never become label values) and `code` is the HTTP
status.

With several gateway processes (`--gateway-workers N`) each process also writes every number it
changes into its own files in the run's metrics folder (gateway/metric_files.py: one 8-byte
store, no lock), and a scrape, on whichever process it lands, sums every process's files:
counters of every process that ever ran (a counter never goes back), gauges (in flight, held)
of live processes only (the supervisor removes a dead worker's, `process_gone`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from modelport.gateway.metric_files import Kind, ProcessFiles, process_gone, read_numbers

UNROUTED = ""  # endpoint label of requests that matched no endpoint (401, 404, bad input)
CLIENT_CLOSED = 499  # status recorded when the client went away mid-response (nginx's code)

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
_BUCKET_LABELS = (*(repr(float(bound)) for bound in BUCKETS), "+Inf")  # the `le` label values


class _Histogram:
    """Per-bucket counts (not cumulative: one increment per observation) plus the sum."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, seconds: float) -> int:
        """The bucket counted in."""
        bucket = bisect_left(BUCKETS, seconds)  # le: value <= bound
        self.counts[bucket] += 1
        self.total += seconds
        return bucket


class GatewayMetrics:
    """`shared`: the run's metrics folder when the server has several gateway processes."""

    def __init__(self, shared: Path | None = None) -> None:
        self._requests: dict[tuple[str, int], int] = {}
        self._inflight: dict[str, int] = {}
        self._durations: dict[str, _Histogram] = {}
        self._retries: dict[str, int] = {}
        self._held: dict[str, int] = {}  # requests waiting for a first READY replica now
        self._holds: dict[tuple[str, str], int] = {}  # ended holds, by endpoint and outcome
        self._shared = shared
        self._files = ProcessFiles(shared) if shared is not None else None
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Collector(self))

    def started(self, endpoint: str) -> None:
        inflight = self._inflight
        inflight[endpoint] = count = inflight.get(endpoint, 0) + 1
        if self._files is not None:
            self._files.gauge(Kind.INFLIGHT, endpoint, "", count)

    def finished(self, endpoint: str, code: int, seconds: float) -> None:
        """A proxied request ended (started() was called for it)."""
        self._inflight[endpoint] = count = self._inflight[endpoint] - 1  # kept at 0: visible
        if self._files is not None:
            self._files.gauge(Kind.INFLIGHT, endpoint, "", count)
        self.answered(endpoint, code, seconds)

    def answered(self, endpoint: str, code: int, seconds: float) -> None:
        """A request ended: proxied, or answered by the gateway itself."""
        requests = self._requests
        key = (endpoint, code)
        requests[key] = count = requests.get(key, 0) + 1
        files = self._files
        if files is not None:
            files.count(Kind.REQUESTS, endpoint, str(code), count)
        if endpoint != UNROUTED:
            histogram = self._durations.get(endpoint)
            if histogram is None:
                histogram = self._durations[endpoint] = _Histogram()
            bucket = histogram.observe(seconds)
            if files is not None:
                files.count(Kind.BUCKET, endpoint, str(bucket), histogram.counts[bucket])
                files.count(Kind.SUM, endpoint, "", histogram.total)

    def retried(self, endpoint: str) -> None:
        self._retries[endpoint] = count = self._retries.get(endpoint, 0) + 1
        if self._files is not None:
            self._files.count(Kind.RETRIES, endpoint, "", count)

    def hold_started(self, endpoint: str) -> None:
        self._held[endpoint] = count = self._held.get(endpoint, 0) + 1
        if self._files is not None:
            self._files.gauge(Kind.HELD, endpoint, "", count)

    def hold_ended(self, endpoint: str, outcome: str) -> None:
        """`outcome`: a gateway.hold.HoldOutcome value (served, timeout, unavailable, ...)."""
        self._held[endpoint] = held = self._held[endpoint] - 1  # kept at 0: the series stays
        key = (endpoint, outcome)
        self._holds[key] = count = self._holds.get(key, 0) + 1
        if self._files is not None:
            self._files.gauge(Kind.HELD, endpoint, "", held)
            self._files.count(Kind.HOLDS, endpoint, outcome, count)

    def inflight(self, endpoint: str) -> int:
        return self._inflight.get(endpoint, 0)

    def render(self) -> bytes:
        """The Prometheus text exposition: this process's, or with several the whole server's."""
        if self._shared is not None:
            return generate_latest(_merged(self._shared).registry)
        return generate_latest(self.registry)

    @staticmethod
    def process_gone(shared: Path, pid: int) -> None:
        """A gateway process ended: its gauges no longer count (its counters still do)."""
        process_gone(shared, pid)

    def _add(self, kind: Kind, endpoint: str, extra: str, value: float) -> None:
        """One process's number added in (`_merged`)."""
        count = int(value)
        match kind:
            case Kind.REQUESTS:
                key = (endpoint, int(extra))
                self._requests[key] = self._requests.get(key, 0) + count
            case Kind.BUCKET:
                self._durations.setdefault(endpoint, _Histogram()).counts[int(extra)] += count
            case Kind.SUM:
                self._durations.setdefault(endpoint, _Histogram()).total += value
            case Kind.HOLDS:
                self._holds[(endpoint, extra)] = self._holds.get((endpoint, extra), 0) + count
            case Kind.RETRIES | Kind.INFLIGHT | Kind.HELD:
                numbers = {
                    Kind.RETRIES: self._retries, Kind.INFLIGHT: self._inflight,
                    Kind.HELD: self._held,
                }[kind]  # fmt: skip
                numbers[endpoint] = numbers.get(endpoint, 0) + count

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "modelport_gateway_requests",
            "Requests answered by the gateway, by endpoint and HTTP status.",
            labels=["endpoint", "code"],
        )
        for (endpoint, code), count in sorted(self._requests.items()):
            requests.add_metric([endpoint, str(code)], count)
        yield requests
        inflight = GaugeMetricFamily(
            "modelport_gateway_inflight_requests",
            "Requests being proxied right now, by endpoint.",
            labels=["endpoint"],
        )
        for endpoint, count in sorted(self._inflight.items()):
            inflight.add_metric([endpoint], count)
        yield inflight
        duration = HistogramMetricFamily(
            "modelport_gateway_request_duration_seconds",
            "Time from request arrival to the last response byte, by endpoint.",
            labels=["endpoint"],
        )
        for endpoint, histogram in sorted(self._durations.items()):
            cumulative, buckets = 0, []
            for label, count in zip(_BUCKET_LABELS, histogram.counts, strict=True):
                cumulative += count
                buckets.append((label, cumulative))
            duration.add_metric([endpoint], buckets, histogram.total)
        yield duration
        retries = CounterMetricFamily(
            "modelport_gateway_upstream_retries",
            "Upstream attempts retried on another replica (refused, reset, disconnected).",
            labels=["endpoint"],
        )
        for endpoint, count in sorted(self._retries.items()):
            retries.add_metric([endpoint], count)
        yield retries
        held = GaugeMetricFamily(
            "modelport_gateway_held_requests",
            "Requests held for an endpoint with no READY replica (e.g. at zero), by endpoint.",
            labels=["endpoint"],
        )
        for endpoint, count in sorted(self._held.items()):
            held.add_metric([endpoint], count)
        yield held
        holds = CounterMetricFamily(
            "modelport_gateway_holds",
            "Held requests by how the hold ended: served, timeout, unavailable, stopped, left.",
            labels=["endpoint", "outcome"],
        )
        for (endpoint, outcome), count in sorted(self._holds.items()):
            holds.add_metric([endpoint, outcome], count)
        yield holds


def _merged(folder: Path) -> GatewayMetrics:
    """Every process's files summed into one (file-less) GatewayMetrics, for rendering."""
    total = GatewayMetrics()
    for kind, endpoint, extra, value in read_numbers(folder):
        total._add(kind, endpoint, extra, value)
    return total


class _Collector(Collector):
    def __init__(self, metrics: GatewayMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return self._metrics.collect()
