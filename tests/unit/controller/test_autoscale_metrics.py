"""Engine gauges for `custom` autoscaling rules: scraped from a real HTTP /metrics page that,
like an engine, answers only with the replica's key; summed over label sets."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from modelport.clock import FakeClock
from modelport.controller.engine_metrics import EngineSample, EngineScraper, read_gauges
from modelport.domain.records import ReplicaHandle

KEY = "replica-key-1"
PAGE = """\
# HELP vllm:num_requests_waiting Requests waiting.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{model_name="a"} 3.0
vllm:num_requests_waiting{model_name="b"} 4.0
# HELP vllm:num_requests_running Requests running.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{model_name="a"} 9.0
"""


def test_read_gauges_sums_label_sets_of_the_named_metrics_only():
    assert read_gauges(PAGE, {"vllm:num_requests_waiting", "absent"}) == {
        "vllm:num_requests_waiting": 7.0
    }


@pytest.fixture
async def engine() -> AsyncIterator[tuple[int, list[str]]]:
    """A /metrics route that wants the replica key, as engines started by Modelport do."""
    seen: list[str] = []

    async def metrics(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.headers.get("Authorization") != f"Bearer {KEY}":
            return web.Response(status=401)
        return web.Response(text=PAGE, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield port, seen
    await runner.cleanup()


def serving(replica_id: int, port: int, key: str | None) -> tuple[int, ReplicaHandle]:
    return replica_id, ReplicaHandle(backend="local", host="127.0.0.1", port=port, sealed_key=key)


async def test_ready_replicas_are_scraped_with_their_key_every_granularity(engine):
    port, seen = engine
    clock = FakeClock()
    samples: list[EngineSample] = []
    scraper = EngineScraper(
        clock, samples.append, unseal=lambda sealed: sealed.removeprefix("sealed:")
    )
    ready = serving(1, port, f"sealed:{KEY}")
    names = {"vllm:num_requests_waiting"}

    scraper.due(7, [ready], names, every=5)
    await scraper.wait()
    assert [(s.endpoint, s.replica, s.name, s.value) for s in samples] == [
        ("7", "1", "vllm:num_requests_waiting", 7.0)
    ]
    assert seen == [f"Bearer {KEY}"], "with its key"

    scraper.due(7, [ready], names, every=5)
    await scraper.wait()
    assert len(seen) == 1, "not again within the granularity"
    clock.advance(5)
    scraper.due(7, [ready], names, every=5)
    await scraper.wait()
    assert len(samples) == 2
    await scraper.close()


async def test_a_replica_refusing_or_absent_gives_no_sample(engine):
    port, _seen = engine
    samples: list[EngineSample] = []
    scraper = EngineScraper(FakeClock(), samples.append, unseal=str)
    wrong_key = serving(1, port, "not-the-key")
    closed = serving(2, 1, KEY)  # nothing listens on port 1
    scraper.due(7, [wrong_key, closed], {"vllm:num_requests_waiting"}, every=1)
    await asyncio.wait_for(scraper.wait(), timeout=10)
    assert samples == []
    await scraper.close()
