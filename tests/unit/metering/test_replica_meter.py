"""The leader's replica-seconds by plan and gauges, over a real SQLite store and a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from modelport.catalog import PlanCatalog
from modelport.clock import FakeClock
from modelport.controller.metering import MAX_GAP, ReplicaMeter
from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import EndpointSpec, Framework, PlanChoice
from modelport.domain.states import ReplicaState
from modelport.store import SqlStore, open_store
from modelport.store.usage import UsageQuery

START = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
TIR_SKU = {"sku": {"sku_id": 101, "sku_name": "C3.2", "sku_item_price_id": 1001}}  # 3.1 INR/h
DEEPINFRA = {"config": {"gpu": "L4-24GB", "num_gpus": 2}}  # catalog GDC4.L4-16.64GB: 70 INR/h


def _spec(extensions: dict[str, object], plan: PlanChoice | None = None) -> EndpointSpec:
    return EndpointSpec(framework=Framework.CUSTOM, command=["serve", "{port}"], replicas=2,
                        extensions=extensions, plan=plan)  # fmt: skip


def _endpoint(store: SqlStore, name: str, spec: EndpointSpec) -> Endpoint:
    project = store.create_project(f"p-{name}")
    return store.create_endpoint(project.id, name, spec, spec.model_dump_json())


def _replicas(store: SqlStore, endpoint: Endpoint, *states: ReplicaState) -> list[Replica]:
    made = [store.create_replica(endpoint.id, endpoint.generation, START) for _ in states]
    return [r.model_copy(update={"state": s}) for r, s in zip(made, states, strict=True)]


def test_running_replicas_are_billed_under_their_plan(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    clock = FakeClock(START)
    meter = ReplicaMeter(store, clock, PlanCatalog.load(), inflight=lambda _id: 1)
    tir = _endpoint(store, "tir", _spec({"tir": TIR_SKU}))
    deep = _endpoint(store, "deep", _spec({"deepinfra": DEEPINFRA}))
    native = _endpoint(store, "native", _spec({}))
    planned = _endpoint(store, "planned", _spec({}, PlanChoice(sku_item_price_id=1001)))
    replicas = [
        *_replicas(store, planned, ReplicaState.READY),
        *_replicas(store, tir, ReplicaState.READY, ReplicaState.STARTING),
        *_replicas(store, deep, ReplicaState.DRAINING, ReplicaState.PENDING),
        *_replicas(store, native, ReplicaState.FAILED, ReplicaState.READY),
    ]
    endpoints = [tir, deep, native, planned]
    meter.observe(endpoints, replicas)  # the first tick: nothing before it to account
    for _ in range(6):
        clock.advance(10)
        meter.observe(endpoints, replicas)
    clock.advance(3600)  # a stalled leader: at most MAX_GAP more
    meter.observe(endpoints, replicas)
    asyncio.run(meter.flush())

    seconds = 60 + MAX_GAP
    rows = store.usage_plans(UsageQuery(0, 2**40))
    by_endpoint: dict[str, tuple[str, float, float]] = {}
    for r in rows:  # two hours: the stall's seconds count in the hour it ended in
        _, seconds_before, cost_before = by_endpoint.get(r.endpoint, ("", 0.0, 0.0))
        by_endpoint[r.endpoint] = (r.plan, seconds_before + r.replica_seconds,
                                   round(cost_before + r.cost, 6))  # fmt: skip
    assert by_endpoint == {
        "tir": ("C3.2", 2 * seconds, round(2 * seconds * 3.1 / 3600, 6)),
        "deep": ("GDC4.L4-16.64GB x2", seconds, round(seconds * 140 / 3600, 6)),
        "native": ("none", seconds, 0.0),
        "planned": ("C3.2", seconds, round(seconds * 3.1 / 3600, 6)),  # spec.plan (native)
    }
    fine = store.series_counts(tir.id, 0, 2**40)
    assert fine[-1].gauges == (2, 1, 2)  # in flight (1 per running replica), ready, wanted
    store.close()
