"""A gateway process's meter: buckets in memory, flushed to a real SQLite store, kept on failure."""

from __future__ import annotations

import asyncio
from pathlib import Path

from modelport.gateway.metering import UsageFlusher, UsageMeter
from modelport.gateway.metering_tap import UsageTap
from modelport.gateway.routes import EndpointRoute
from modelport.store import open_store
from modelport.store.usage import CountsDelta, UsageQuery

ROUTE = EndpointRoute(endpoint_id=3, project_id=1, name="chat", replicas=(), max_concurrency=None,
                      created=0)  # fmt: skip
T0 = 1_764_378_000.0


def _tap(prompt: int, completion: int) -> UsageTap:
    tap = UsageTap()
    tap.body(b'{"usage": {"prompt_tokens": %d, "completion_tokens": %d}}' % (prompt, completion))
    return tap


def test_counts_requests_errors_tokens_and_latency_per_10s_bucket() -> None:
    now = [T0 + 1]
    meter = UsageMeter(now=lambda: now[0])
    meter.record(ROUTE, 200, 0.03, _tap(10, 2))
    meter.record(ROUTE, 503, 0.001, None)  # no replica: an error
    meter.record(ROUTE, 499, 0.2, None)  # the client left: not an error
    meter.record(ROUTE, 404, 0.2, None)  # the engine's 404: not an error
    now[0] = T0 + 12
    meter.record(ROUTE, 200, 0.03, _tap(1, 1))
    deltas = sorted(meter.drain(), key=lambda d: d.bucket)
    assert [d.bucket for d in deltas] == [T0, T0 + 10]
    first = deltas[0].counts
    assert (first.requests, first.errors, first.prompt_tokens, first.completion_tokens) == (
        4, 1, 10, 2,
    )  # fmt: skip
    assert first.latency[3] == 1 and first.latency[0] == 1  # 30 ms (<= 50), 1 ms (<= 5)
    assert meter.drain() == []


def test_flush_adds_to_the_store_and_keeps_what_the_store_refused(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    meter = UsageMeter(now=lambda: T0)
    meter.record(ROUTE, 200, 0.01, _tap(5, 5))

    class Refusing:
        def add_usage(self, deltas: list[CountsDelta]) -> None:
            raise OSError("database away")

    asyncio.run(UsageFlusher(Refusing(), meter).flush())  # type: ignore[arg-type]
    meter.record(ROUTE, 200, 0.01, _tap(1, 1))
    asyncio.run(UsageFlusher(store, meter).flush())
    rows = store.usage_counts(UsageQuery(int(T0), int(T0) + 3600))
    assert [(r.counts.requests, r.counts.prompt_tokens) for r in rows] == [(2, 6)]
    store.close()


def test_run_flushes_once_more_when_stopped(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    meter = UsageMeter(now=lambda: T0)
    meter.record(ROUTE, 200, 0.01, None)

    async def stopped_run() -> None:
        stop = asyncio.Event()
        stop.set()
        await UsageFlusher(store, meter, interval=3600).run(stop)

    asyncio.run(stopped_run())
    assert len(store.usage_counts(UsageQuery(int(T0), int(T0) + 3600))) == 1
    store.close()
