"""The async invocation queue: claims under leases, compare-and-set finishes, idempotency,
the queue limit and TTL expiry (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from modelport.clock import FakeClock
from modelport.domain.errors import Conflict, NotFound, QuotaExceeded
from modelport.domain.invocations import InvocationStatus, NewInvocation
from modelport.domain.records import Endpoint
from modelport.store import SqlStore

TTL = 3600.0
LEASE = 30.0


def _new(endpoint: Endpoint, key: str | None = None, body: bytes = b'{"x": 1}') -> NewInvocation:
    return NewInvocation(
        project_id=endpoint.project_id,
        endpoint_id=endpoint.id,
        method="POST",
        path="/v1/chat/completions",
        body=body,
        headers=(("content-type", "application/json"),),
        idempotency_key=key,
    )


def _submit(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint, key: str | None = None, limit: int = 100
) -> str:
    invocation, created = store.create_invocation(
        _new(endpoint, key), now=clock.now(), ttl_seconds=TTL, queue_limit=limit
    )
    assert created
    return invocation.id


def test_submitted_invocation_reads_back_queued(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    invocation, created = store.create_invocation(
        _new(endpoint), now=clock.now(), ttl_seconds=TTL, queue_limit=10
    )
    assert created
    got = store.get_invocation(endpoint.id, invocation.id)
    assert got == invocation
    assert got.status is InvocationStatus.QUEUED
    assert got.body == b'{"x": 1}'
    assert got.headers == (("content-type", "application/json"),)
    assert got.attempts == 0
    assert got.expires_at - got.created_at == _seconds(TTL)
    with pytest.raises(NotFound):
        store.get_invocation(endpoint.id + 1, invocation.id)


def test_idempotency_key_returns_the_same_invocation(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    first, created = store.create_invocation(
        _new(endpoint, "k1"), now=clock.now(), ttl_seconds=TTL, queue_limit=10
    )
    again, created_again = store.create_invocation(
        _new(endpoint, "k1", body=b"other"), now=clock.now(), ttl_seconds=TTL, queue_limit=10
    )
    assert created and not created_again
    assert again.id == first.id
    other, _ = store.create_invocation(
        _new(endpoint, "k2"), now=clock.now(), ttl_seconds=TTL, queue_limit=10
    )
    assert other.id != first.id


def test_concurrent_same_key_creates_one(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    def submit(_: int) -> str:
        invocation, _created = store.create_invocation(
            _new(endpoint, "same"), now=clock.now(), ttl_seconds=TTL, queue_limit=100
        )
        return invocation.id

    with ThreadPoolExecutor(8) as pool:
        ids = set(pool.map(submit, range(16)))
    assert len(ids) == 1
    assert store.list_invocations(endpoint.id).total == 1


def test_queue_limit_counts_pending_and_refuses_with_retry_after(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    for _ in range(3):
        _submit(store, clock, endpoint, limit=3)
    with pytest.raises(QuotaExceeded) as refused:
        _submit(store, clock, endpoint, limit=3)
    assert refused.value.retry_after > 0
    # A claimed one still counts; a finished one frees its place.
    (claimed,) = store.claim_invocations(endpoint.id, "w1", 1, lease_seconds=LEASE, now=clock.now())
    with pytest.raises(QuotaExceeded):
        _submit(store, clock, endpoint, limit=3)
    assert store.finish_invocation(
        claimed.id, "w1", status=InvocationStatus.COMPLETED, now=clock.now(),
        response_status=200, result_location="loc", error=None,
    )  # fmt: skip
    _submit(store, clock, endpoint, limit=3)
    assert store.invocation_backlog() == {endpoint.id: 3}


def test_concurrent_submissions_never_exceed_the_limit(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    def submit(_: int) -> bool:
        try:
            _submit(store, clock, endpoint, limit=5)
        except QuotaExceeded:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        accepted = sum(pool.map(submit, range(20)))
    assert accepted == 5
    assert store.invocation_backlog() == {endpoint.id: 5}


def test_claim_takes_oldest_first_and_never_twice(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    ids = []
    for _ in range(5):
        ids.append(_submit(store, clock, endpoint))
        clock.advance(1)
    first = store.claim_invocations(endpoint.id, "w1", 2, lease_seconds=LEASE, now=clock.now())
    second = store.claim_invocations(endpoint.id, "w2", 10, lease_seconds=LEASE, now=clock.now())
    assert [i.id for i in first] == ids[:2]
    assert [i.id for i in second] == ids[2:]
    assert all(i.status is InvocationStatus.IN_PROGRESS and i.attempts == 1 for i in first)
    assert {i.lease_owner for i in second} == {"w2"}
    assert (
        store.claim_invocations(endpoint.id, "w3", 10, lease_seconds=LEASE, now=clock.now()) == []
    )


def test_concurrent_claimers_split_the_rows(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    for _ in range(40):
        _submit(store, clock, endpoint)

    def claim(worker: int) -> list[str]:
        taken: list[str] = []
        while batch := store.claim_invocations(
            endpoint.id, f"w{worker}", 3, lease_seconds=LEASE, now=clock.now()
        ):
            taken.extend(i.id for i in batch)
        return taken

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(claim, range(4)))
    every = [i for taken in results for i in taken]
    assert len(every) == 40
    assert len(set(every)) == 40


def test_a_lapsed_lease_makes_the_row_claimable_and_fences_the_old_worker(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    invocation_id = _submit(store, clock, endpoint)
    store.claim_invocations(endpoint.id, "dead", 1, lease_seconds=LEASE, now=clock.now())
    clock.advance(LEASE - 1)
    assert store.claim_invocations(endpoint.id, "w2", 1, lease_seconds=LEASE, now=clock.now()) == []
    clock.advance(2)
    (retaken,) = store.claim_invocations(endpoint.id, "w2", 1, lease_seconds=LEASE, now=clock.now())
    assert retaken.id == invocation_id
    assert retaken.attempts == 2
    # The first worker wakes up: none of its writes land.
    assert not store.renew_invocation_lease(
        invocation_id, "dead", lease_seconds=LEASE, now=clock.now()
    )
    assert not store.finish_invocation(
        invocation_id, "dead", status=InvocationStatus.FAILED, now=clock.now(),
        response_status=500, result_location=None, error="late",
    )  # fmt: skip
    assert store.finish_invocation(
        invocation_id, "w2", status=InvocationStatus.COMPLETED, now=clock.now(),
        response_status=200, result_location="api/x.json", error=None,
    )  # fmt: skip
    done = store.get_invocation(endpoint.id, invocation_id)
    assert done.status is InvocationStatus.COMPLETED
    assert done.result_location == "api/x.json"
    assert done.lease_owner is None
    assert done.finished_at == clock.now()


def test_renewal_keeps_the_row_and_release_requeues_for_later(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    invocation_id = _submit(store, clock, endpoint)
    store.claim_invocations(endpoint.id, "w1", 1, lease_seconds=LEASE, now=clock.now())
    clock.advance(LEASE - 5)
    assert store.renew_invocation_lease(invocation_id, "w1", lease_seconds=LEASE, now=clock.now())
    clock.advance(10)
    assert store.claim_invocations(endpoint.id, "w2", 1, lease_seconds=LEASE, now=clock.now()) == []
    retry_at = clock.now() + _seconds(5)
    assert store.release_invocation(
        invocation_id, "w1", available_at=retry_at, error="replica answered 500"
    )
    queued = store.get_invocation(endpoint.id, invocation_id)
    assert queued.status is InvocationStatus.QUEUED
    assert queued.error == "replica answered 500"
    assert store.claim_invocations(endpoint.id, "w2", 1, lease_seconds=LEASE, now=clock.now()) == []
    clock.advance(6)
    (again,) = store.claim_invocations(endpoint.id, "w2", 1, lease_seconds=LEASE, now=clock.now())
    assert again.attempts == 2
    assert store.release_invocation(
        invocation_id, "w2", available_at=None, error=None, give_back_attempt=True
    )
    assert store.get_invocation(endpoint.id, invocation_id).attempts == 1


def test_cancel_only_while_queued(store: SqlStore, clock: FakeClock, endpoint: Endpoint) -> None:
    queued = _submit(store, clock, endpoint)
    clock.advance(1)
    running = _submit(store, clock, endpoint)
    store.cancel_invocation(endpoint.id, queued, clock.now())
    assert store.get_invocation(endpoint.id, queued).status is InvocationStatus.CANCELED
    (claimed,) = store.claim_invocations(endpoint.id, "w1", 5, lease_seconds=LEASE, now=clock.now())
    assert claimed.id == running  # the canceled one is never claimed
    with pytest.raises(Conflict, match="in_progress"):
        store.cancel_invocation(endpoint.id, running, clock.now())
    with pytest.raises(NotFound):
        store.cancel_invocation(endpoint.id, "inv-nope", clock.now())


def test_ttl_expires_queued_work_only(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    started = _submit(store, clock, endpoint)
    clock.advance(1)
    waiting = _submit(store, clock, endpoint)
    # A long lease: the started one is still held when the TTL passes.
    (claimed,) = store.claim_invocations(
        endpoint.id, "w1", 1, lease_seconds=TTL * 2, now=clock.now()
    )
    assert claimed.id == started
    clock.advance(TTL + 1)
    assert store.claim_invocations(endpoint.id, "w2", 5, lease_seconds=LEASE, now=clock.now()) == []
    assert store.expire_invocations(clock.now()) == 1
    assert store.get_invocation(endpoint.id, waiting).status is InvocationStatus.EXPIRED
    # Its request may have reached a replica: a started one is finished, not expired.
    assert store.get_invocation(endpoint.id, started).status is InvocationStatus.IN_PROGRESS


def test_list_filters_by_status_and_since_and_pages(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    ids = []
    for _ in range(5):
        ids.append(_submit(store, clock, endpoint))
        clock.advance(10)
    store.cancel_invocation(endpoint.id, ids[0], clock.now())
    page = store.list_invocations(endpoint.id, limit=2)
    assert [i.id for i in page.items] == [ids[4], ids[3]]
    assert page.total == 5
    assert [i.id for i in store.list_invocations(endpoint.id, limit=2, offset=4).items] == [ids[0]]
    canceled = store.list_invocations(endpoint.id, statuses=[InvocationStatus.CANCELED])
    assert [i.id for i in canceled.items] == [ids[0]]
    since = store.list_invocations(endpoint.id, since=clock.now() - _seconds(25))
    assert [i.id for i in since.items] == [ids[4], ids[3]]


def test_deleting_the_endpoint_removes_its_invocations(
    store: SqlStore, clock: FakeClock, endpoint: Endpoint
) -> None:
    _submit(store, clock, endpoint)
    store.delete_endpoint(endpoint.id)
    assert store.invocation_backlog() == {}
    with pytest.raises(NotFound):
        _submit(store, clock, endpoint)


def _seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
