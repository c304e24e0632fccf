from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from modelport.clock import FakeClock
from modelport.domain.errors import NotFound
from modelport.domain.records import Endpoint, EventLevel
from modelport.store import SqlStore


def test_events_come_back_oldest_first_and_page(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    added = []
    for n in range(5):
        clock.advance(1)
        added.append(
            store.add_event(
                endpoint.id,
                level=EventLevel.WARNING if n % 2 else EventLevel.INFO,
                reason="Step",
                message=f"step {n}",
                now=clock.now(),
                replica_id=7 if n == 0 else None,
            )
        )

    assert store.list_events(endpoint.id) == added
    first_page = store.list_events(endpoint.id, limit=2)
    assert [e.message for e in first_page] == ["step 0", "step 1"]
    rest = store.list_events(endpoint.id, after_id=first_page[-1].id)
    assert [e.message for e in rest] == ["step 2", "step 3", "step 4"]
    assert added[0].replica_id == 7 and added[0].project_id == endpoint.project_id
    assert added[1].level is EventLevel.WARNING
    assert added[0].created_at.tzinfo is not None


def test_events_belong_to_their_endpoint(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    with pytest.raises(NotFound):
        store.add_event(404, level=EventLevel.ERROR, reason="X", message="x", now=clock.now())
    assert store.list_events(404) == []


def test_lease_acquire_renew_refuse_and_steal_after_expiry(
    store: SqlStore, clock: FakeClock
) -> None:
    assert store.try_acquire_lease("controller", "a", 10, clock.now())
    clock.advance(5)
    assert not store.try_acquire_lease("controller", "b", 10, clock.now())
    assert store.try_acquire_lease("controller", "a", 10, clock.now())  # renewed to t=15
    clock.advance(9)
    assert not store.try_acquire_lease("controller", "b", 10, clock.now())
    clock.advance(2)
    assert store.try_acquire_lease("controller", "b", 10, clock.now())
    assert not store.try_acquire_lease("controller", "a", 10, clock.now())


def test_lease_release(store: SqlStore, clock: FakeClock) -> None:
    assert store.try_acquire_lease("controller", "a", 60, clock.now())
    store.release_lease("controller", "b")  # not b's: nothing happens
    assert not store.try_acquire_lease("controller", "b", 60, clock.now())
    store.release_lease("controller", "a")
    assert store.try_acquire_lease("controller", "b", 60, clock.now())


def test_leases_are_independent(store: SqlStore, clock: FakeClock) -> None:
    assert store.try_acquire_lease("controller", "a", 60, clock.now())
    assert store.try_acquire_lease("autoscaler", "b", 60, clock.now())


def test_timestamps_in_other_zones_are_stored_as_utc(store: SqlStore, endpoint: Endpoint) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    local = datetime(2026, 3, 1, 12, 0, tzinfo=ist)
    event = store.add_event(
        endpoint.id, level=EventLevel.INFO, reason="Zone", message="z", now=local
    )
    [stored] = store.list_events(endpoint.id)
    assert stored.created_at == local
    assert stored.created_at.tzinfo is UTC
    assert event == stored
