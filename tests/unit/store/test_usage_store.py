"""Usage rows: additive upserts from several writers, hourly rollup, gauges, ranges, pruning."""

from __future__ import annotations

from modelport.store import SqlStore
from modelport.store.usage import (
    FINE,
    HOURLY,
    Counts,
    CountsDelta,
    EndpointKey,
    Gauges,
    PlanDelta,
    UsageQuery,
)

KEY = EndpointKey(endpoint_id=7, project_id=1, endpoint="chat")
OTHER = EndpointKey(endpoint_id=8, project_id=2, endpoint="chat")
HOUR = 1_764_378_000  # a whole hour


def _counts(requests: int, prompt: int, completion: int, errors: int = 0) -> Counts:
    counts = Counts(requests=requests, errors=errors, prompt_tokens=prompt)
    counts.completion_tokens = completion
    counts.latency[3] = requests
    return counts


def test_deltas_of_several_writers_add_up_in_fine_and_hourly_rows(store: SqlStore) -> None:
    store.add_usage([CountsDelta(KEY, HOUR, _counts(2, 30, 10))])
    store.add_usage([CountsDelta(KEY, HOUR, _counts(1, 5, 4, errors=1))])  # another process
    store.add_usage([CountsDelta(KEY, HOUR + FINE, _counts(3, 1, 1))])
    store.add_usage([CountsDelta(OTHER, HOUR, _counts(9, 9, 9))])

    fine = store.series_counts(KEY.endpoint_id, HOUR, HOUR + 60)
    assert [(r.bucket, r.counts.requests) for r in fine] == [(HOUR, 3), (HOUR + FINE, 3)]
    assert fine[0].counts.prompt_tokens == 35 and fine[0].counts.errors == 1
    assert fine[0].counts.latency[3] == 3
    hourly = store.usage_counts(UsageQuery(HOUR, HOUR + HOURLY, project_id=1))
    assert len(hourly) == 1
    row = hourly[0]
    assert (row.key, row.bucket) == (KEY, HOUR)
    assert (row.counts.requests, row.counts.prompt_tokens, row.counts.completion_tokens) == (
        6, 36, 15,
    )  # fmt: skip


def test_gauges_are_set_not_added_and_counters_kept(store: SqlStore) -> None:
    store.add_usage([CountsDelta(KEY, HOUR, _counts(2, 3, 4))])
    store.set_gauges([Gauges(KEY, HOUR, in_flight=3, replicas_ready=1, replicas_desired=2)])
    store.set_gauges([Gauges(KEY, HOUR, in_flight=1, replicas_ready=2, replicas_desired=2)])
    store.set_gauges([Gauges(KEY, HOUR + FINE, 0, 2, 2)])  # a bucket without requests
    rows = store.series_counts(KEY.endpoint_id, HOUR, HOUR + 60)
    assert [(r.counts.requests, r.gauges) for r in rows] == [(2, (1, 2, 2)), (0, (0, 2, 2))]


def test_plan_seconds_and_cost_add_up_per_plan(store: SqlStore) -> None:
    store.add_plan_seconds([PlanDelta(KEY, HOUR, "C3.2", 1800.0, 1.55, "INR")])
    store.add_plan_seconds([PlanDelta(KEY, HOUR, "C3.2", 1800.0, 1.55, "INR")])
    store.add_plan_seconds([PlanDelta(KEY, HOUR, "none", 10.0, 0.0, "INR")])
    rows = store.usage_plans(UsageQuery(HOUR, HOUR + HOURLY, endpoint="chat"))
    by_plan = {r.plan: (r.replica_seconds, round(r.cost, 6)) for r in rows}
    assert by_plan == {"C3.2": (3600.0, 3.1), "none": (10.0, 0.0)}


def test_ranges_are_half_open_and_scoped(store: SqlStore) -> None:
    store.add_usage([CountsDelta(KEY, HOUR - FINE, _counts(1, 0, 0))])
    store.add_usage([CountsDelta(KEY, HOUR + HOURLY, _counts(1, 0, 0))])
    assert store.usage_counts(UsageQuery(HOUR, HOUR + HOURLY)) == []
    assert store.usage_counts(UsageQuery(HOUR - HOURLY, HOUR, project_id=2)) == []
    assert len(store.usage_counts(UsageQuery(HOUR - HOURLY, HOUR, project_id=1))) == 1


def test_prune_drops_old_rows_by_resolution(store: SqlStore) -> None:
    store.add_usage([CountsDelta(KEY, HOUR, _counts(1, 0, 0))])
    store.add_plan_seconds([PlanDelta(KEY, HOUR, "none", 5.0, 0.0, "INR")])
    assert store.prune_usage(fine_before=HOUR + FINE, hourly_before=HOUR) == 1  # the fine row
    assert store.series_counts(KEY.endpoint_id, 0, HOUR * 2) == []
    assert len(store.usage_counts(UsageQuery(0, HOUR * 2))) == 1
    assert store.prune_usage(fine_before=0, hourly_before=HOUR + HOURLY) == 2
    assert store.usage_plans(UsageQuery(0, HOUR * 2)) == []
