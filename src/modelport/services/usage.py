"""Usage and cost reports, and an endpoint's graph series, read from the metering rows.

Usage is kept hourly: `from` is rounded down and `to` up to a whole hour, and the answer says
which hours it covers. Series read the 10 s rows (kept 48 h). Both show what the gateways and
the leader flushed, so a request appears within about 10 s (gateway/metering.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from modelport.catalog import PlanCatalog
from modelport.clock import Clock
from modelport.domain.errors import Forbidden, InvalidSpec
from modelport.domain.records import Project
from modelport.schemas.usage import GroupBy, PlanUsage, Series, UsageReport, UsageRow, UsageTotals
from modelport.services.auth import Principal
from modelport.services.usage_plans import catalog_currency
from modelport.store.usage import (
    FINE,
    HOURLY,
    LATENCY_BOUNDS_MS,
    Counts,
    CountsRow,
    PlanRow,
    UsageQuery,
    UsageStore,
)

DEFAULT_RANGE = timedelta(hours=24)
MAX_RANGE = timedelta(days=400)  # the hourly rows' retention
MAX_WINDOW = 48 * 3600  # the 10 s rows' retention
MAX_POINTS = 2000
_SERIES = ("t", "requests_per_s", "errors_per_s", "p50_ms", "p95_ms", "in_flight",
           "replicas_ready", "replicas_desired")  # fmt: skip


class UsageReads(UsageStore, Protocol):
    def get_project_by_name(self, name: str) -> Project: ...


class UsageService:
    def __init__(self, store: UsageReads, plans: PlanCatalog, clock: Clock) -> None:
        self._store = store
        self._currency = catalog_currency(plans)
        self._clock = clock

    def usage(
        self,
        principal: Principal,
        start: datetime | None = None,
        end: datetime | None = None,
        group_by: GroupBy = GroupBy.ENDPOINT,
        endpoint: str | None = None,
        project: str | None = None,
    ) -> UsageReport:
        """Usage of the caller's project (a server admin may name another) in [start, end)."""
        if principal.endpoint_id is not None:
            raise Forbidden("an inference key cannot read usage")
        project_id = principal.project_id
        if project is not None:
            if not principal.server_admin:
                raise Forbidden("only the server admin may read another project's usage")
            project_id = self._store.get_project_by_name(project).id
        first, last = _hours(start, end, self._clock.now())
        query = UsageQuery(first, last, project_id, endpoint)
        counts = self._store.usage_counts(query)
        plans = self._store.usage_plans(query)
        rows = _rows(counts, plans, group_by)
        totals = UsageTotals()
        for row in rows:
            _add_totals(totals, row)
        return UsageReport(
            from_=_iso(first), to=_iso(last), group_by=group_by, currency=self._currency,
            rows=rows, totals=totals,
        )  # fmt: skip

    def series(self, endpoint_id: int, window: int, step: int) -> Series:
        """The last `window` seconds of one endpoint, in steps of `step` seconds."""
        if not 0 < window <= MAX_WINDOW:
            raise InvalidSpec(f"window: between 1 and {MAX_WINDOW} seconds", field="window")
        if step < FINE or step % FINE:
            raise InvalidSpec(f"step: a multiple of {FINE} seconds", field="step")
        points = -(-window // step)
        if points > MAX_POINTS:
            raise InvalidSpec(f"step: at most {MAX_POINTS} points per window", field="step")
        now = int(self._clock.now().timestamp())
        end = (now // step + 1) * step  # the step holding now is the last one
        start = end - points * step
        found = self._store.series_counts(endpoint_id, start, end)
        by_step: dict[int, list[CountsRow]] = defaultdict(list)
        for row in found:
            by_step[(row.bucket - start) // step].append(row)
        series = Series.model_validate({"step": step} | {name: [] for name in _SERIES})
        for index in range(points):
            series.t.append(start + index * step)
            _point(series, by_step.get(index, []), step)
        return series


def _point(series: Series, rows: Sequence[CountsRow], step: int) -> None:
    if not rows:
        for name in _SERIES[1:]:
            getattr(series, name).append(None)
        return
    total = Counts()
    for row in rows:
        total.add(row.counts)
    series.requests_per_s.append(total.requests / step)
    series.errors_per_s.append(total.errors / step)
    series.p50_ms.append(percentile(total.latency, 0.50))
    series.p95_ms.append(percentile(total.latency, 0.95))
    in_flight = [r.gauges[0] for r in rows if r.gauges[0] is not None]
    series.in_flight.append(max(in_flight) if in_flight else None)
    series.replicas_ready.append(_last(r.gauges[1] for r in rows))
    series.replicas_desired.append(_last(r.gauges[2] for r in rows))


def percentile(histogram: Sequence[int], q: float) -> float | None:
    """The q-quantile in ms, interpolated within its bucket (the last: its lower bound)."""
    total = sum(histogram)
    if not total:
        return None
    rank, seen = q * total, 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            lower = LATENCY_BOUNDS_MS[index - 1] if index else 0
            if index == len(LATENCY_BOUNDS_MS):
                return float(lower)
            upper = LATENCY_BOUNDS_MS[index]
            return round(lower + (upper - lower) * (rank - seen) / count, 3)
        seen += count
    return float(LATENCY_BOUNDS_MS[-1])


def _last(values: object) -> int | None:
    kept = [v for v in values if v is not None]  # type: ignore[attr-defined]
    return kept[-1] if kept else None


def _rows(
    counts: Sequence[CountsRow], plans: Sequence[PlanRow], group_by: GroupBy
) -> list[UsageRow]:
    def key(endpoint: str, bucket: int) -> str:
        if group_by is GroupBy.DAY:
            return datetime.fromtimestamp(bucket, UTC).strftime("%Y-%m-%d")
        return endpoint

    rows: dict[str, UsageRow] = {}

    def row(name: str) -> UsageRow:
        if name not in rows:
            by_day = group_by is GroupBy.DAY
            rows[name] = UsageRow(key=name, endpoint=None if by_day else name,
                                  day=name if by_day else None)  # fmt: skip
        return rows[name]

    for found in counts:
        target, c = row(key(found.key.endpoint, found.bucket)), found.counts
        target.requests += c.requests
        target.errors += c.errors
        target.prompt_tokens += c.prompt_tokens
        target.completion_tokens += c.completion_tokens
        target.estimated_requests += c.estimated
    for plan in plans:
        target = row(key(plan.endpoint, plan.bucket))
        entry = next((p for p in target.plans if p.plan == plan.plan), None)
        if entry is None:
            entry = PlanUsage(plan=plan.plan, replica_seconds=0.0, price_per_hour=0.0, cost=0.0,
                              currency=plan.currency)  # fmt: skip
            target.plans.append(entry)
        entry.replica_seconds += plan.replica_seconds
        entry.cost += plan.cost
        target.replica_seconds += plan.replica_seconds
        target.cost += plan.cost
    for kept in rows.values():
        for entry in kept.plans:
            hours = entry.replica_seconds / 3600
            entry.price_per_hour = round(entry.cost / hours, 6) if hours else 0.0
            entry.cost = round(entry.cost, 6)
        kept.cost = round(kept.cost, 6)
    return sorted(rows.values(), key=lambda r: r.key)


def _add_totals(totals: UsageTotals, row: UsageRow) -> None:
    totals.requests += row.requests
    totals.errors += row.errors
    totals.prompt_tokens += row.prompt_tokens
    totals.completion_tokens += row.completion_tokens
    totals.estimated_requests += row.estimated_requests
    totals.replica_seconds += row.replica_seconds
    totals.cost = round(totals.cost + row.cost, 6)


def _hours(start: datetime | None, end: datetime | None, now: datetime) -> tuple[int, int]:
    last_at = end or now
    first_at = start or (last_at - DEFAULT_RANGE)
    first = int(first_at.timestamp()) // HOURLY * HOURLY
    last = -(-int(last_at.timestamp()) // HOURLY) * HOURLY
    if last <= first:
        raise InvalidSpec("from: must be before to", field="from")
    if last - first > MAX_RANGE.total_seconds():
        raise InvalidSpec(f"from: at most {MAX_RANGE.days} days before to", field="from")
    return first, last


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
