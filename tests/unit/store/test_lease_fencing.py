"""The lease's fencing generation, and the controller's fenced writes, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import pytest
from sqlalchemy import Connection

import modelport.store.replicas as replicas_module
from modelport.clock import FakeClock
from modelport.domain.decisions import ReplicaReason
from modelport.domain.errors import LeaseLost
from modelport.domain.records import Endpoint, EventLevel, LeaseFence
from modelport.domain.states import ReplicaState
from modelport.store import SqlStore, open_store
from modelport.store.leases import hold_fence

LEASE = "controller"


def acquire(store: SqlStore, holder: str, clock: FakeClock, ttl: float = 10) -> LeaseFence:
    fence = store.try_acquire_lease(LEASE, holder, ttl, clock.now())
    assert fence is not None, f"{holder} should have got the lease"
    return fence


def test_the_generation_stays_on_renewal_and_grows_when_the_lease_changes_hands(
    store: SqlStore, clock: FakeClock
) -> None:
    first = acquire(store, "a", clock)
    assert (first.holder, first.generation) == ("a", 1)
    clock.advance(5)
    assert acquire(store, "a", clock).generation == 1, "a renewal is the same term"
    clock.advance(11)  # a's lease expired
    taken = acquire(store, "b", clock)
    assert (taken.holder, taken.generation) == ("b", 2)
    clock.advance(11)
    assert acquire(store, "b", clock).generation == 3, "retaken after expiry: a new term"
    store.release_lease(LEASE, "b")
    assert acquire(store, "a", clock).generation == 4, "released: the row and its count stay"
    store.release_lease(LEASE, "a")
    assert acquire(store, "a", clock).generation == 5, "even the same holder starts a new term"


def test_fenced_writes_land_while_the_lease_is_held(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    fence = acquire(store, "a", clock)
    replica = store.create_replica(endpoint.id, 1, clock.now(), fence=fence)
    store.transition_replica(
        replica.id,
        ReplicaState.PENDING,
        ReplicaState.FAILED,
        detail="x",
        now=clock.now(),
        fence=fence,
    )
    store.add_event(
        endpoint.id, level=EventLevel.INFO, reason="R", message="m", now=clock.now(), fence=fence
    )
    store.delete_replica(replica.id, fence=fence)
    assert store.list_replicas(endpoint.id) == []
    assert [e.reason for e in store.list_events(endpoint.id)] == ["R"]
    store.delete_endpoint(endpoint.id, fence=fence)
    assert store.list_endpoints() == []


def _writes(store: SqlStore, endpoint: Endpoint, clock: FakeClock) -> dict[str, Callable[..., Any]]:
    """Every write the controller makes, each given a fence."""
    replica = store.create_replica(endpoint.id, 1, clock.now())
    return {
        "create_replica": lambda fence: store.create_replica(
            endpoint.id, 1, clock.now(), fence=fence
        ),
        "transition_replica": lambda fence: store.transition_replica(
            replica.id,
            ReplicaState.PENDING,
            ReplicaState.STARTING,
            detail="x",
            now=clock.now(),
            fence=fence,
        ),
        "set_pending_reason": lambda fence: store.set_pending_reason(
            replica.id,
            reason=ReplicaReason.LAUNCH_DEFERRED,
            detail="x",
            now=clock.now(),
            next_attempt_at=clock.now(),
            fence=fence,
        ),
        "delete_replica": lambda fence: store.delete_replica(replica.id, fence=fence),
        "add_event": lambda fence: store.add_event(
            endpoint.id,
            level=EventLevel.INFO,
            reason="R",
            message="m",
            now=clock.now(),
            fence=fence,
        ),
        "delete_endpoint": lambda fence: store.delete_endpoint(endpoint.id, fence=fence),
    }


@pytest.mark.parametrize(
    "write",
    [
        "create_replica",
        "transition_replica",
        "set_pending_reason",
        "delete_replica",
        "add_event",
        "delete_endpoint",
    ],
)
def test_a_deposed_holder_cannot_write(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock, write: str
) -> None:
    old = acquire(store, "a", clock)
    clock.advance(11)
    acquire(store, "b", clock)  # a's lease expired and b took it over
    attempt = _writes(store, endpoint, clock)[write]
    before = (store.list_replicas(endpoint.id), store.list_events(endpoint.id))

    with pytest.raises(LeaseLost):
        attempt(old)

    assert (store.list_replicas(endpoint.id), store.list_events(endpoint.id)) == before
    assert [e.id for e in store.list_endpoints()] == [endpoint.id]


def test_a_stale_generation_of_the_same_holder_is_refused(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    old = acquire(store, "a", clock)
    clock.advance(11)
    acquire(store, "a", clock)  # retaken after expiry: someone may have held it meanwhile
    with pytest.raises(LeaseLost):
        store.create_replica(endpoint.id, 1, clock.now(), fence=old)
    assert store.list_replicas(endpoint.id) == []


def test_unfenced_writes_are_not_checked(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    acquire(store, "a", clock)
    store.add_event(endpoint.id, level=EventLevel.INFO, reason="Api", message="m", now=clock.now())
    assert len(store.list_events(endpoint.id)) == 1


def test_a_takeover_waits_for_a_fenced_write_in_flight(
    database_url: str,
    store: SqlStore,
    endpoint: Endpoint,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The fence check holds the lease row (or SQLite's write lock) to the end of the write's
    transaction: a takeover in the middle lands after it, never between check and write."""
    fence = acquire(store, "a", clock)
    clock.advance(11)  # expired: b may take over at any moment
    other = open_store(database_url, clock)
    checked = threading.Event()
    release = threading.Event()

    def hold_then_pause(conn: Connection, held: LeaseFence | None) -> None:
        hold_fence(conn, held)
        checked.set()  # the check passed; the takeover is tried while this write is open
        assert release.wait(20)

    monkeypatch.setattr(replicas_module, "hold_fence", hold_then_pause)
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            write = pool.submit(store.create_replica, endpoint.id, 1, clock.now(), fence=fence)
            assert checked.wait(20)
            takeover = pool.submit(other.try_acquire_lease, LEASE, "b", 10, clock.now())
            done, _ = wait([takeover], timeout=0.5)
            assert not done, "the takeover must wait for the write in flight"
            release.set()
            replica = write.result(timeout=20)
            taken = takeover.result(timeout=20)
    finally:
        release.set()
        other.close()
    assert taken is not None and taken.generation == 2
    assert [r.id for r in store.list_replicas(endpoint.id)] == [replica.id]
    with pytest.raises(LeaseLost):
        store.add_event(
            endpoint.id,
            level=EventLevel.INFO,
            reason="R",
            message="m",
            now=clock.now(),
            fence=fence,
        )
