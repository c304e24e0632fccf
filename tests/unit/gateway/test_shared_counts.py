"""Counts shared by several gateway processes (gateway/shared_counts.py), over a real segment:
each process writes its own slot; balancing, draining and the autoscaler read the sum."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.autoscaler.window import IN_FLIGHT, GatewayReport, MetricsWindow
from modelport.clock import FakeClock
from modelport.domain.errors import Unauthorized
from modelport.domain.records import Role
from modelport.gateway.balancing import Balancer
from modelport.gateway.load import LoadBoard, LoadReporter
from modelport.gateway.routes import ReplicaTarget
from modelport.gateway.shared_counts import SharedCounts
from modelport.services.auth import Authenticator
from modelport.services.tokens import mint_token
from modelport.store import open_store


@pytest.fixture
def counts() -> Iterator[SharedCounts]:
    segment = SharedCounts.create(3, capacity=4)
    yield segment
    segment.close(unlink=True)


def peer(counts: SharedCounts, slot: int) -> Balancer:
    """A process's balancer on its own mapping of the segment, as a worker has."""
    return Balancer(shared=(SharedCounts.attach(counts.layout), slot))


def test_in_flight_is_summed_over_processes(counts: SharedCounts) -> None:
    main, worker = peer(counts, 0), peer(counts, 1)
    worker.acquire(7)
    worker.acquire(7)
    main.acquire(7)
    main.acquire(8)
    assert main.inflight(7) == 3  # what draining reads on the main process
    worker.release(7)
    worker.release(7)
    assert main.inflight(7) == 1
    assert main.inflight(9) == 0


def test_the_balancer_avoids_a_replica_busy_on_another_process(counts: SharedCounts) -> None:
    main, worker = peer(counts, 0), peer(counts, 1)
    replicas = (ReplicaTarget(1, "http://a"), ReplicaTarget(2, "http://b"))
    worker.acquire(1)
    picked = set()
    for _ in range(4):
        target = main.pick(replicas)
        assert target is not None
        picked.add(target.replica_id)
    assert picked == {2}


def test_a_dead_process_holds_nothing_in_flight(counts: SharedCounts) -> None:
    main, worker = peer(counts, 0), peer(counts, 1)
    worker.acquire(5)
    counts.clear(1)  # the supervisor saw it exit
    assert main.inflight(5) == 0


def test_rows_are_reused_once_idle(counts: SharedCounts) -> None:
    """More replicas over time than rows: idle rows are given back, nothing is lost."""
    main = peer(counts, 0)
    for replica_id in range(100):
        main.acquire(replica_id)
        main.release(replica_id)
    for replica_id in range(100, 104):
        main.acquire(replica_id)
    assert [main.inflight(r) for r in range(100, 104)] == [1, 1, 1, 1]


def test_the_autoscaler_sees_every_process_load(counts: SharedCounts) -> None:
    slots = [peer(counts, s).slot for s in range(3)]
    loads = [LoadReporter(slot=slot) for slot in slots]
    board = LoadBoard(counts)
    for load in loads:
        load.started(42)
    loads[0].started(42)
    loads[0].finished(42)
    window = MetricsWindow(retention=60, stale_after=5)
    reports = board.collect(now=1.0)
    for report in reports:
        window.report(report)
    assert len({r.reporter for r in reports}) == 3  # one source per process
    seen = window.snapshot("42", now=1.5)
    assert seen.gauge_now(IN_FLIGHT) == 3
    assert seen.completed_within(5) == 1


def test_completions_are_counted_once_and_a_quiet_endpoint_reported_once_at_zero(
    counts: SharedCounts,
) -> None:
    load = LoadReporter(slot=peer(counts, 1).slot)
    board = LoadBoard(counts)
    load.started(3)
    load.finished(3)
    load.started(3)
    load.finished(3)
    first = board.collect(now=1.0)
    assert [(r.in_flight, r.completed) for r in first] == [(0, 2)]
    assert [(r.in_flight, r.completed) for r in board.collect(now=2.0)] == [(0, 0)]
    assert board.collect(now=3.0) == []
    load.started(3)
    assert board.collect(now=4.0) == [GatewayReport(first[0].reporter, "3", 4.0, 1, 0)]


def test_a_full_endpoint_table_reuses_the_longest_idle_row(counts: SharedCounts) -> None:
    load = LoadReporter(slot=peer(counts, 0).slot)
    board = LoadBoard(counts)
    for endpoint_id in range(1, 5):  # capacity 4
        load.started(endpoint_id)
        load.finished(endpoint_id)
    board.collect(now=1.0)
    load.started(9)  # takes endpoint 1's row
    seen = {r.endpoint: r.in_flight for r in board.collect(now=2.0)}
    assert seen["9"] == 1 and "1" not in seen


def test_a_start_removes_the_run_directories_of_main_processes_that_are_gone(
    counts: SharedCounts,
) -> None:
    """A main process killed with SIGKILL leaves its run directory in /dev/shm; the next
    start removes it (its pid and start time name no live process), and no live run's."""
    gone = subprocess.Popen(["sleep", "60"])
    started = Path(f"/proc/{gone.pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    gone.kill()
    gone.wait()
    base = counts.layout.folder.parent
    stale = base / f"modelport-run-{gone.pid}-{started}-test"
    stale.mkdir()
    (stale / "counts").write_bytes(b"\0" * 64)
    again = SharedCounts.create(2, capacity=4)
    try:
        assert not stale.exists()
        assert counts.layout.folder.is_dir()  # this process's run is live: kept
    finally:
        again.close(unlink=True)
    assert not again.layout.folder.exists()


def test_a_token_revoked_on_one_process_stops_working_on_every_process_at_once(
    counts: SharedCounts, tmp_path: Path
) -> None:
    """Each process caches token lookups; `forget` (a revocation) on one ends the others'."""
    clock = FakeClock()
    store = open_store(f"sqlite:///{tmp_path / 'modelport.db'}", clock)
    project = store.create_project("team")
    token = mint_token(store, project.id, "ci", Role.ADMIN)[1]
    here, there = (
        Authenticator(store, clock, epoch=SharedCounts.attach(counts.layout).auth_epoch())
        for _ in range(2)
    )
    header = f"Bearer {token}"
    for process in (here, there):
        assert process.authenticate(header).project_id == project.id
        assert process.cached(header) is not None
    token_id = store.list_tokens(project.id)[0].id
    store.revoke_token(project.id, token_id)
    here.forget()
    assert there.cached(header) is None
    with pytest.raises(Unauthorized):
        there.authenticate(header)
