"""This server's load for two readers (gateway/load_ledger.py) and its publishing
(gateway/load_publisher.py), on a real SQLite store and a FakeClock: the local autoscaler still
gets every report, tallies sum the gateway processes, a quiet endpoint leaves the payload after
one write at zero, and an idle server writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from modelport.autoscaler.window import GatewayReport
from modelport.clock import FakeClock
from modelport.gateway.load_ledger import KEPT_BATCHES, LoadLedger
from modelport.gateway.load_publisher import LoadPublisher
from modelport.store import SqlStore, open_store
from modelport.store.loads import EndpointLoad


class Source:
    """A load source as LoadBoard is: one reporter per gateway process; per call the in-flight
    now and the completions since the previous call."""

    def __init__(self) -> None:
        self.in_flight: dict[tuple[str, int], int] = {}
        self.done: dict[tuple[str, int], int] = {}

    def __call__(self, now: float) -> Sequence[GatewayReport]:
        keys = {k for k, n in self.in_flight.items() if n} | set(self.done)
        reports = [
            GatewayReport(r, str(e), now, self.in_flight.get((r, e), 0), self.done.get((r, e), 0))
            for r, e in sorted(keys)
        ]
        self.done = {}
        return reports


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'modelport.db'}", clock)
    yield opened
    opened.close()


def test_the_autoscaler_gets_every_report_the_publisher_read_first() -> None:
    source = Source()
    ledger = LoadLedger(source, lambda _e: False, dict)
    source.done[("gw-0", 1)] = 2
    ledger.sample(1.0)  # the publisher reads first
    source.done[("gw-0", 1)] = 3
    reports = ledger.collect(2.0)
    assert [(r.at, r.completed) for r in reports] == [(1.0, 2), (2.0, 3)]
    assert ledger.collect(3.0) == []


def test_a_standby_keeps_only_the_last_few_samples() -> None:
    source = Source()
    ledger = LoadLedger(source, lambda _e: False, dict)
    source.in_flight[("gw-0", 1)] = 1
    for tick in range(KEPT_BATCHES + 5):
        ledger.sample(float(tick))
    assert len(ledger.collect(100.0)) == KEPT_BATCHES + 1


def test_tallies_sum_processes_count_from_zero_and_drop_quiet_endpoints() -> None:
    source = Source()
    held = {2}
    ledger = LoadLedger(source, lambda e: e in held, lambda: {9: 2})
    source.in_flight.update({("gw-0", 1): 2, ("gw-1", 1): 1, ("gw-1", 2): 4})
    source.done.update({("gw-0", 1): 5, ("gw-1", 1): 1})
    ledger.sample(1.0)
    first = ledger.snapshot()
    assert first.endpoints == (
        EndpointLoad(endpoint_id=1, in_flight=3, held=0, completed=6, since=1),
        EndpointLoad(endpoint_id=2, in_flight=4, held=4, completed=0, since=1),
    )
    assert first.replicas == {9: 2}
    ledger.published(first)

    source.in_flight = {}  # everything ends; endpoint 1 completes 3 more
    source.done[("gw-0", 1)] = 3
    ledger.sample(2.0)
    quiet = ledger.snapshot()
    assert [(e.endpoint_id, e.in_flight, e.completed) for e in quiet.endpoints] == [
        (1, 0, 9),
        (2, 0, 0),
    ]
    ledger.published(quiet)
    ledger.sample(3.0)
    assert ledger.snapshot().endpoints == ()  # once at zero, then gone
    ledger.published(ledger.snapshot())

    source.in_flight[("gw-0", 1)] = 1  # busy again: a new count from zero
    ledger.sample(4.0)
    (again,) = ledger.snapshot().endpoints
    assert (again.completed, again.since) == (0, 4)


async def test_an_idle_server_writes_nothing_and_a_busy_one_every_tick(
    store: SqlStore, clock: FakeClock
) -> None:
    source = Source()
    ledger = LoadLedger(source, lambda _e: False, dict)
    publisher = LoadPublisher(store, clock, "server-a", ledger, interval=1.0)
    assert await publisher.publish()  # the first, empty row says this server is here
    assert not await publisher.publish()

    source.in_flight[("gw-0", 1)] = 1
    assert await publisher.publish()
    clock.advance(1)
    assert await publisher.publish()  # nothing changed, but in flight: the row stays fresh
    (row,) = store.server_loads()
    assert (row.seq, row.updated_at) == (3, clock.now())

    source.in_flight = {}
    source.done[("gw-0", 1)] = 1
    assert await publisher.publish()  # finished: written at zero
    assert await publisher.publish()  # quiet: dropped from the payload
    assert not await publisher.publish()
    assert store.server_loads()[0].load.endpoints == ()


async def test_demand_publishes_at_once_and_a_stopping_server_withdraws(
    store: SqlStore, clock: FakeClock
) -> None:
    source = Source()
    ledger = LoadLedger(source, lambda _e: True, dict)
    publisher = LoadPublisher(store, clock, "server-a", ledger, interval=60.0)
    stop = asyncio.Event()
    running = asyncio.create_task(publisher.run(stop))
    try:
        async with asyncio.timeout(10):
            while not store.server_loads():
                await asyncio.sleep(0.01)
            source.in_flight[("gw-0", 5)] = 1
            publisher.demand(5)  # long before the 60 s interval
            while not store.server_loads()[0].load.endpoints:
                await asyncio.sleep(0.01)
        (entry,) = store.server_loads()[0].load.endpoints
        assert (entry.endpoint_id, entry.held) == (5, 1)
    finally:
        stop.set()
        await running
    assert store.server_loads() == []
