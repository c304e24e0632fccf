"""Windowed metrics per endpoint: what the autoscaling policy reads.

Inputs arrive without a store write per request:
- each gateway process reports every second or so `GatewayReport(reporter, endpoint, at,
  in_flight, completed)`: requests in flight now, and completed since its previous report;
- the controller scrapes each replica's engine gauges (`custom_metric_name`, e.g. vLLM's
  `vllm:num_requests_waiting`, or cpu) and reads the async queue's backlog.

Several sources sum correctly because each keeps its own series: a gauge's value for one time
step is the sum, over sources, of each one's latest sample at or before the end of that step;
completions are counted into the step they were reported in, so a rate is completions / time.
A source whose latest sample is older than `stale_after` counts for nothing, so a gateway that
stopped reporting (or a replica that was stopped) ages out instead of freezing its last value.
Samples older than `retention` (the longest window any rule reads) are dropped.

Time is monotonic seconds, passed in by the caller: nothing here reads a clock.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Gauge(StrEnum):
    """Kinds of gauge series an endpoint has."""

    IN_FLIGHT = "in_flight"  # requests in flight at a gateway process; one source per reporter
    BACKLOG = "backlog"  # async invocations queued, not yet sent; one source (the queue)
    ENGINE = "engine"  # an engine metric scraped from a replica; one source per replica


@dataclass(frozen=True, slots=True)
class GaugeKey:
    kind: Gauge
    name: str = ""  # the engine metric's name (ENGINE only)


IN_FLIGHT = GaugeKey(Gauge.IN_FLIGHT)
BACKLOG = GaugeKey(Gauge.BACKLOG)
_QUEUE = "queue"  # the backlog's one source


def engine_metric(name: str) -> GaugeKey:
    return GaugeKey(Gauge.ENGINE, name)


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    value: float


@dataclass(frozen=True, slots=True)
class GatewayReport:
    """What one gateway process saw of one endpoint since its previous report."""

    reporter: str  # the gateway process (stable for its lifetime)
    endpoint: str
    at: float
    in_flight: int
    completed: int  # requests completed since this reporter's previous report


@dataclass(frozen=True, slots=True)
class Steps:
    """One value per time step of `granularity` seconds, oldest first. The last step is the
    current one and may be partial. Only steps since the endpoint's first sample are here, so a
    fresh endpoint is not averaged with time it had no data for."""

    granularity: float
    values: tuple[float, ...]

    def _count(self, seconds: float) -> int:
        return max(1, round(seconds / self.granularity))

    def mean(self, seconds: float) -> float:
        """The mean of the last `seconds` worth of steps (at least one)."""
        return self._mean_ending(len(self.values) - 1, self._count(seconds))

    def recent_max(self, steps: int) -> float:
        """The highest of the last `steps` steps."""
        return max(self.values[-steps:], default=0.0)

    def peak(self, seconds: float) -> float:
        """The highest step of the last `seconds`."""
        return self.recent_max(self._count(seconds))

    def peak_mean(self, seconds: float, look_back: float) -> float:
        """The highest `mean(seconds)` reading at any step of the last `look_back` seconds."""
        span = self._count(seconds)
        last = len(self.values) - 1
        ends = range(max(0, last - self._count(look_back) + 1), last + 1)
        return max((self._mean_ending(end, span) for end in ends), default=0.0)

    def _mean_ending(self, end: int, span: int) -> float:
        if end < 0:
            return 0.0
        chunk = self.values[max(0, end - span + 1) : end + 1]
        return sum(chunk) / len(chunk)


@dataclass(frozen=True)
class EndpointMetrics:
    """An immutable snapshot of one endpoint's windowed metrics, taken at `now`."""

    now: float
    stale_after: float
    gauges: Mapping[GaugeKey, tuple[tuple[Sample, ...], ...]]  # per source, sorted by time
    completions: tuple[Sample, ...]  # every reporter's, sorted by time
    first_at: float | None  # the oldest sample kept: steps start here
    last_activity_at: float | None  # last time anything was in flight, completed or queued

    def gauge_now(self, key: GaugeKey) -> float:
        """The sum of each live source's latest sample."""
        return sum(_latest_before(s, self.now, self.now, self.stale_after) for s in self._of(key))

    def completed_within(self, seconds: float) -> float:
        start = self.now - seconds
        return sum(s.value for s in self.completions if start < s.at <= self.now)

    def gauge_steps(self, keys: Iterable[GaugeKey], granularity: float, seconds: float) -> Steps:
        """Per step: the sum over `keys`' sources of each one's latest live sample."""
        first, current = self._step_range(granularity, seconds)
        series = [source for key in keys for source in self._of(key)]
        values = []
        for step in range(first, current + 1):
            bound = min((step + 1) * granularity, self.now)
            values.append(sum(_latest_before(s, bound, self.now, self.stale_after) for s in series))
        return Steps(granularity, tuple(values))

    def rate_steps(self, granularity: float, seconds: float) -> Steps:
        """Per step: requests completed in it, per second (the current step: so far)."""
        first, current = self._step_range(granularity, seconds)
        counts = [0.0] * (current - first + 1)
        for sample in self.completions:
            step = math.floor(sample.at / granularity)
            if first <= step <= current and sample.at <= self.now:
                counts[step - first] += sample.value
        return Steps(granularity, tuple(count / granularity for count in counts))

    def _of(self, key: GaugeKey) -> tuple[tuple[Sample, ...], ...]:
        return self.gauges.get(key, ())

    def _step_range(self, granularity: float, seconds: float) -> tuple[int, int]:
        if granularity <= 0:
            raise ValueError("granularity: must be > 0")
        current = math.floor(self.now / granularity)
        wanted = current - math.ceil(seconds / granularity)
        data = current if self.first_at is None else math.floor(self.first_at / granularity)
        return max(wanted, min(data, current)), current


def _latest_before(samples: tuple[Sample, ...], bound: float, now: float, stale: float) -> float:
    """The value of the latest sample at or before `bound` (`bound` itself only when it is now),
    or 0 when there is none or it is older than `stale` seconds at `bound`."""
    times = [s.at for s in samples]
    index = bisect.bisect_right(times, bound) if bound >= now else bisect.bisect_left(times, bound)
    if index == 0:
        return 0.0
    sample = samples[index - 1]
    return sample.value if bound - sample.at <= stale else 0.0


@dataclass
class _Endpoint:
    gauges: dict[GaugeKey, dict[str, list[Sample]]] = field(default_factory=dict)
    completions: dict[str, list[Sample]] = field(default_factory=dict)
    last_activity_at: float | None = None


class MetricsWindow:
    """Samples of every endpoint, kept for `retention` seconds. Not thread-safe: one owner
    (the autoscaler loop) feeds it and takes snapshots."""

    def __init__(self, *, retention: float, stale_after: float) -> None:
        if stale_after <= 0 or retention < stale_after:
            raise ValueError("stale_after: must be > 0 and at most retention")
        self.retention = retention
        self.stale_after = stale_after
        self._endpoints: dict[str, _Endpoint] = {}

    def report(self, report: GatewayReport) -> None:
        if report.in_flight < 0 or report.completed < 0:
            raise ValueError("in_flight and completed: must be >= 0")
        endpoint = self._endpoint(report.endpoint)
        _insert(
            endpoint.gauges.setdefault(IN_FLIGHT, {}), report.reporter, report.at, report.in_flight
        )
        if report.completed:
            _insert(endpoint.completions, report.reporter, report.at, report.completed)
        if report.in_flight or report.completed:
            _active(endpoint, report.at)

    def scrape(self, endpoint: str, replica: str, name: str, at: float, value: float) -> None:
        """One engine gauge read from one replica (e.g. `vllm:num_requests_waiting`)."""
        gauges = self._endpoint(endpoint).gauges.setdefault(engine_metric(name), {})
        _insert(gauges, replica, at, value)

    def backlog(self, endpoint: str, at: float, queued: int) -> None:
        """Async invocations queued for the endpoint (demand that is not in flight yet)."""
        state = self._endpoint(endpoint)
        _insert(state.gauges.setdefault(BACKLOG, {}), _QUEUE, at, queued)
        if queued:
            _active(state, at)

    def forget(self, endpoint: str) -> None:
        self._endpoints.pop(endpoint, None)

    def snapshot(self, endpoint: str, now: float) -> EndpointMetrics:
        """The endpoint's metrics at `now`, after dropping what is older than the retention."""
        state = self._endpoints.get(endpoint) or _Endpoint()
        cutoff = now - self.retention
        for sources in state.gauges.values():
            _prune(sources, cutoff, keep_last=True)
        _prune(state.completions, cutoff, keep_last=False)
        gauges = {
            key: tuple(tuple(samples) for samples in sources.values())
            for key, sources in state.gauges.items()
            if sources
        }
        completions = tuple(
            sorted((s for samples in state.completions.values() for s in samples), key=_at)
        )
        times = [s.at for series in gauges.values() for source in series for s in source]
        times += [s.at for s in completions]
        return EndpointMetrics(
            now=now,
            stale_after=self.stale_after,
            gauges=gauges,
            completions=completions,
            first_at=min(times, default=None),
            last_activity_at=state.last_activity_at,
        )

    def _endpoint(self, endpoint: str) -> _Endpoint:
        return self._endpoints.setdefault(endpoint, _Endpoint())


def _at(sample: Sample) -> float:
    return sample.at


def _insert(sources: dict[str, list[Sample]], source: str, at: float, value: float) -> None:
    samples = sources.setdefault(source, [])
    sample = Sample(at, float(value))
    if not samples or samples[-1].at <= at:
        samples.append(sample)  # the usual case: a source reports in time order
    else:
        bisect.insort(samples, sample, key=_at)


def _active(endpoint: _Endpoint, at: float) -> None:
    if endpoint.last_activity_at is None or at > endpoint.last_activity_at:
        endpoint.last_activity_at = at


def _prune(sources: dict[str, list[Sample]], cutoff: float, *, keep_last: bool) -> None:
    """Drop samples older than `cutoff`. A gauge keeps its newest older sample, which still
    says what the gauge read when the window starts (if it is not stale by then); a source with
    nothing newer than the cutoff is gone."""
    for source in list(sources):
        samples = sources[source]
        old = bisect.bisect_left([s.at for s in samples], cutoff)
        if old == len(samples):
            del sources[source]
            continue
        del samples[: max(0, old - 1) if keep_last else old]
