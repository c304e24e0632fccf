"""Usage metering in the store: counters per endpoint and time bucket, added to, never rewritten.

Every gateway process counts its requests in memory and adds them here every few seconds (one
transaction, no write per request); the leading controller adds replica-seconds by plan and
sets the gauges (in flight, replicas ready / desired) of the fine buckets. Adding is one upsert
(`INSERT .. ON CONFLICT DO UPDATE SET x = x + excluded.x`, the same on SQLite and PostgreSQL),
so any number of processes and servers add into the same rows without reading them first.

Two resolutions in `usage_counts`: FINE (10 s, kept 48 h, the graphs) and HOURLY (kept ~13
months, usage and cost); each flush adds a delta to both. `usage_plans` is hourly only. Rows
keep the endpoint's project and name, with no foreign key: usage outlives a deleted endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    delete,
    select,
)
from sqlalchemy.sql.elements import ColumnElement

from modelport.store.leases import _insert_for
from modelport.store.repository import Repository
from modelport.store.tables import metadata

FINE = 10  # seconds per fine bucket (graphs)
HOURLY = 3600  # seconds per hourly bucket (usage, cost)
# Latency histogram upper bounds in milliseconds; one more bucket above the last. Fixed, so
# that histograms of any processes and buckets merge by adding counts.
LATENCY_BOUNDS_MS = (5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 120000)
LATENCY_COLUMNS = tuple(f"lat_{i}" for i in range(len(LATENCY_BOUNDS_MS) + 1))
COUNTERS = ("requests", "errors", "prompt_tokens", "completion_tokens", "estimated")
GAUGES = ("in_flight", "replicas_ready", "replicas_desired")

# Declared beside its repository (migration 0016 creates both), on the shared metadata.
usage_counts = Table(
    "usage_counts",
    metadata,
    Column("resolution", Integer, primary_key=True),  # FINE or HOURLY
    Column("endpoint_id", Integer, primary_key=True),
    Column("bucket", BigInteger, primary_key=True),  # unix seconds, a multiple of resolution
    Column("project_id", Integer, nullable=False),
    Column("endpoint", String(100), nullable=False),  # its name then
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in COUNTERS),
    *(Column(name, Integer, nullable=False, server_default="0") for name in LATENCY_COLUMNS),
    *(Column(name, Integer, nullable=True) for name in GAUGES),  # FINE rows only
    Index("ix_usage_counts_project_id_resolution_bucket", "project_id", "resolution", "bucket"),
    Index("ix_usage_counts_resolution_bucket", "resolution", "bucket"),
)

usage_plans = Table(
    "usage_plans",
    metadata,
    Column("endpoint_id", Integer, primary_key=True),
    Column("bucket", BigInteger, primary_key=True),  # unix seconds, whole hours
    Column("plan", String(100), primary_key=True),  # the plan's name, "none" without one
    Column("project_id", Integer, nullable=False),
    Column("endpoint", String(100), nullable=False),
    Column("replica_seconds", Float, nullable=False, server_default="0"),
    Column("cost", Float, nullable=False, server_default="0"),  # at the price of each moment
    Column("currency", String(8), nullable=False),
    Index("ix_usage_plans_project_id_bucket", "project_id", "bucket"),
)


@dataclass(frozen=True, slots=True)
class EndpointKey:
    """Which endpoint a number belongs to, as kept in every usage row."""

    endpoint_id: int
    project_id: int
    endpoint: str  # name


@dataclass(slots=True)
class Counts:
    """Requests of one endpoint in one bucket; added to, merged by adding."""

    requests: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: int = 0  # requests whose completion tokens were counted from the stream
    latency: list[int] = field(default_factory=lambda: [0] * len(LATENCY_COLUMNS))

    def add(self, other: Counts) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.estimated += other.estimated
        self.latency = [a + b for a, b in zip(self.latency, other.latency, strict=True)]

    def values(self) -> dict[str, int]:
        counters = {name: getattr(self, name) for name in COUNTERS}
        return counters | dict(zip(LATENCY_COLUMNS, self.latency, strict=True))


@dataclass(frozen=True, slots=True)
class CountsDelta:
    key: EndpointKey
    bucket: int  # start of its FINE bucket
    counts: Counts


@dataclass(frozen=True, slots=True)
class PlanDelta:
    key: EndpointKey
    bucket: int  # start of its HOURLY bucket
    plan: str
    replica_seconds: float
    cost: float
    currency: str


@dataclass(frozen=True, slots=True)
class Gauges:
    """What the leader sampled for one endpoint in one FINE bucket."""

    key: EndpointKey
    bucket: int
    in_flight: int
    replicas_ready: int
    replicas_desired: int


@dataclass(frozen=True, slots=True)
class CountsRow:
    key: EndpointKey
    bucket: int
    counts: Counts
    gauges: tuple[int | None, int | None, int | None]  # GAUGES order; None: not sampled


@dataclass(frozen=True, slots=True)
class PlanRow:
    endpoint: str
    bucket: int
    plan: str
    replica_seconds: float
    cost: float
    currency: str


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """Hourly rows of [start, end) (unix seconds), of a project (None: all) and endpoint."""

    start: int
    end: int
    project_id: int | None = None
    endpoint: str | None = None


class UsageStore(Protocol):
    """The part of the store metering uses."""

    def add_usage(self, deltas: Sequence[CountsDelta]) -> None: ...

    def add_plan_seconds(self, deltas: Sequence[PlanDelta]) -> None: ...

    def set_gauges(self, samples: Sequence[Gauges]) -> None: ...

    def usage_counts(self, query: UsageQuery) -> Sequence[CountsRow]: ...

    def usage_plans(self, query: UsageQuery) -> Sequence[PlanRow]: ...

    def series_counts(self, endpoint_id: int, start: int, end: int) -> Sequence[CountsRow]: ...

    def prune_usage(self, fine_before: int, hourly_before: int) -> int: ...


class UsageRepository(Repository):
    def add_usage(self, deltas: Sequence[CountsDelta]) -> None:
        """Add each delta to its FINE row and to its hour's HOURLY row, in one transaction."""
        if not deltas:
            return
        hourly: dict[tuple[EndpointKey, int], Counts] = {}
        for delta in deltas:
            hour = delta.bucket - delta.bucket % HOURLY
            hourly.setdefault((delta.key, hour), Counts()).add(delta.counts)
        rows = [_counts_row(FINE, d.key, d.bucket, d.counts.values()) for d in deltas]
        rows += [_counts_row(HOURLY, k, b, c.values()) for (k, b), c in hourly.items()]
        added = (*COUNTERS, *LATENCY_COLUMNS)
        with self._engine.begin() as conn:
            insert = _insert_for(conn)(usage_counts)
            keys = [usage_counts.c.resolution, usage_counts.c.endpoint_id, usage_counts.c.bucket]
            sums = {name: usage_counts.c[name] + insert.excluded[name] for name in added}
            conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=sums), rows)

    def add_plan_seconds(self, deltas: Sequence[PlanDelta]) -> None:
        if not deltas:
            return
        rows = [
            _key_values(d.key)
            | {"bucket": d.bucket, "plan": d.plan, "replica_seconds": d.replica_seconds,
               "cost": d.cost, "currency": d.currency}
            for d in deltas
        ]  # fmt: skip
        with self._engine.begin() as conn:
            insert = _insert_for(conn)(usage_plans)
            c = usage_plans.c
            sums = {
                "replica_seconds": c.replica_seconds + insert.excluded.replica_seconds,
                "cost": c.cost + insert.excluded.cost,
            }
            keys = [c.endpoint_id, c.bucket, c.plan]
            conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=sums), rows)

    def set_gauges(self, samples: Sequence[Gauges]) -> None:
        """Set (not add: one leader samples them) the gauges of FINE rows."""
        if not samples:
            return
        rows = [
            _counts_row(FINE, s.key, s.bucket, {})
            | {"in_flight": s.in_flight, "replicas_ready": s.replicas_ready,
               "replicas_desired": s.replicas_desired}
            for s in samples
        ]  # fmt: skip
        with self._engine.begin() as conn:
            insert = _insert_for(conn)(usage_counts)
            c = usage_counts.c
            keys = [c.resolution, c.endpoint_id, c.bucket]
            values = {name: insert.excluded[name] for name in GAUGES}
            conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=values), rows)

    def usage_counts(self, query: UsageQuery) -> Sequence[CountsRow]:
        c = usage_counts.c
        where = [c.resolution == HOURLY, *_matching(c, query)]
        with self._engine.connect() as conn:
            found = conn.execute(select(usage_counts).where(*where).order_by(c.bucket)).all()
        return [_read_counts(row._mapping) for row in found]

    def usage_plans(self, query: UsageQuery) -> Sequence[PlanRow]:
        c = usage_plans.c
        where = _matching(c, query)
        with self._engine.connect() as conn:
            found = conn.execute(select(usage_plans).where(*where).order_by(c.bucket)).all()
        return [
            PlanRow(r.endpoint, r.bucket, r.plan, r.replica_seconds, r.cost, r.currency)
            for r in found
        ]

    def series_counts(self, endpoint_id: int, start: int, end: int) -> Sequence[CountsRow]:
        """The FINE rows of one endpoint with start <= bucket < end, oldest first."""
        c = usage_counts.c
        where = (c.resolution == FINE, c.endpoint_id == endpoint_id, c.bucket >= start)
        with self._engine.connect() as conn:
            query = select(usage_counts).where(*where, c.bucket < end).order_by(c.bucket)
            found = conn.execute(query).all()
        return [_read_counts(row._mapping) for row in found]

    def prune_usage(self, fine_before: int, hourly_before: int) -> int:
        """Delete FINE rows older than `fine_before` and HOURLY ones older than `hourly_before`."""
        c = usage_counts.c
        with self._engine.begin() as conn:
            fine = conn.execute(
                delete(usage_counts).where(c.resolution == FINE, c.bucket < fine_before)
            )
            hourly = conn.execute(
                delete(usage_counts).where(c.resolution == HOURLY, c.bucket < hourly_before)
            )
            plans = conn.execute(delete(usage_plans).where(usage_plans.c.bucket < hourly_before))
        return int(fine.rowcount + hourly.rowcount + plans.rowcount)


def _key_values(key: EndpointKey) -> dict[str, Any]:
    return {"endpoint_id": key.endpoint_id, "project_id": key.project_id, "endpoint": key.endpoint}


def _counts_row(
    resolution: int, key: EndpointKey, bucket: int, values: dict[str, int]
) -> dict[str, Any]:
    zeros = dict.fromkeys((*COUNTERS, *LATENCY_COLUMNS), 0)
    return _key_values(key) | {"resolution": resolution, "bucket": bucket} | zeros | values


def _range(column: Any, query: UsageQuery) -> Iterable[ColumnElement[bool]]:
    return (column >= query.start, column < query.end)


def _matching(c: Any, query: UsageQuery) -> list[ColumnElement[bool]]:
    """A usage table's rows in the query's range, project and endpoint (both tables have
    bucket, project_id and endpoint columns)."""
    where = list(_range(c.bucket, query))
    if query.project_id is not None:
        where.append(c.project_id == query.project_id)
    if query.endpoint is not None:
        where.append(c.endpoint == query.endpoint)
    return where


def _read_counts(row: Any) -> CountsRow:
    counts = Counts(
        **{name: row[name] for name in COUNTERS}, latency=[row[n] for n in LATENCY_COLUMNS]
    )
    key = EndpointKey(row["endpoint_id"], row["project_id"], row["endpoint"])
    gauges = (row["in_flight"], row["replicas_ready"], row["replicas_desired"])
    return CountsRow(key, row["bucket"], counts, gauges)
