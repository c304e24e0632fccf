"""The store is called from many threads (and processes) at once: races must resolve cleanly."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from modelport.clock import FakeClock
from modelport.domain.errors import Conflict
from modelport.domain.records import Endpoint, EventLevel
from modelport.domain.states import ReplicaState
from modelport.store import SqlStore, open_store

CONTENDERS = 6
T = TypeVar("T")


def _all_at_once(fn: Callable[[int], T]) -> list[T]:
    with ThreadPoolExecutor(max_workers=CONTENDERS) as pool:
        return list(pool.map(fn, range(CONTENDERS)))


def test_only_one_mover_wins_a_transition(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())

    def start(n: int) -> bool:
        try:
            store.transition_replica(
                replica.id,
                ReplicaState.PENDING,
                ReplicaState.STARTING,
                detail=f"mover {n}",
                now=clock.now(),
                count_restart=True,
            )
        except Conflict:
            return False
        return True

    assert sorted(_all_at_once(start)) == [False] * (CONTENDERS - 1) + [True]
    assert store.get_replica(replica.id).restart_count == 1


def test_only_one_holder_takes_a_free_lease(store: SqlStore, clock: FakeClock) -> None:
    won = _all_at_once(
        lambda n: store.try_acquire_lease("controller", f"holder-{n}", 30, clock.now())
    )
    assert [fence is not None for fence in won].count(True) == 1


def test_concurrent_writers_all_land(store: SqlStore, endpoint: Endpoint, clock: FakeClock) -> None:
    def write(n: int) -> int:
        for i in range(5):
            store.add_event(
                endpoint.id, level=EventLevel.INFO, reason="W", message=f"{n}.{i}", now=clock.now()
            )
        return n

    _all_at_once(write)
    assert len(store.list_events(endpoint.id, limit=1000)) == CONTENDERS * 5


def test_concurrent_first_opens_migrate_once(database_url: str, clock: FakeClock) -> None:
    stores = _all_at_once(lambda _n: open_store(database_url, clock))
    try:
        stores[0].create_project("shared")
        assert all(s.get_project_by_name("shared").name == "shared" for s in stores)
    finally:
        for opened in stores:
            opened.close()
