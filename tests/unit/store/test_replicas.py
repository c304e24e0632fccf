from __future__ import annotations

from datetime import timedelta

import pytest

from modelport.clock import FakeClock
from modelport.domain.errors import Conflict, IllegalTransition, NotFound
from modelport.domain.records import Endpoint, ReplicaHandle
from modelport.domain.states import ReplicaState
from modelport.store import SqlStore
from tests.unit.store.specs import custom_spec

HANDLE = ReplicaHandle(
    backend="local", host="127.0.0.1", port=41234, pid=4242, start_time=99, log_path="/tmp/r.log"
)


def test_new_replica_is_pending(store: SqlStore, endpoint: Endpoint, clock: FakeClock) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())

    assert replica.state is ReplicaState.PENDING
    assert replica.endpoint_id == endpoint.id and replica.project_id == endpoint.project_id
    assert replica.handle is None and replica.url is None
    assert replica.restart_count == 0 and replica.ready_at is None
    assert replica.created_at == clock.now() and replica.state_changed_at == clock.now()
    assert store.get_replica(replica.id) == replica


def test_lifecycle_to_ready_and_out(store: SqlStore, endpoint: Endpoint, clock: FakeClock) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    clock.advance(1)
    starting = store.transition_replica(
        replica.id,
        ReplicaState.PENDING,
        ReplicaState.STARTING,
        detail="launched",
        now=clock.now(),
        handle=HANDLE,
    )
    assert starting.handle == HANDLE
    assert starting.url == "http://127.0.0.1:41234"
    assert starting.state_changed_at == clock.now()

    clock.advance(2)
    ready = store.transition_replica(
        replica.id, ReplicaState.STARTING, ReplicaState.READY, detail="probe ok", now=clock.now()
    )
    assert ready.state is ReplicaState.READY
    assert ready.ready_at == clock.now()
    assert ready.handle == HANDLE  # kept when not given
    assert ready.state_reason == "probe ok"

    store.transition_replica(
        replica.id, ReplicaState.READY, ReplicaState.DRAINING, detail="scale in", now=clock.now()
    )
    stopped = store.transition_replica(
        replica.id, ReplicaState.DRAINING, ReplicaState.STOPPED, detail="done", now=clock.now()
    )
    assert stopped.state is ReplicaState.STOPPED
    assert store.get_replica(replica.id) == stopped


def test_illegal_transition_raises(store: SqlStore, endpoint: Endpoint, clock: FakeClock) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    with pytest.raises(IllegalTransition):
        store.transition_replica(
            replica.id, ReplicaState.PENDING, ReplicaState.READY, detail="x", now=clock.now()
        )
    assert store.get_replica(replica.id).state is ReplicaState.PENDING


def test_wrong_expected_state_is_a_conflict(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    store.transition_replica(
        replica.id, ReplicaState.PENDING, ReplicaState.STARTING, detail="a", now=clock.now()
    )
    # A second mover that still believes the replica is PENDING loses.
    with pytest.raises(Conflict):
        store.transition_replica(
            replica.id, ReplicaState.PENDING, ReplicaState.FAILED, detail="b", now=clock.now()
        )
    assert store.get_replica(replica.id).state is ReplicaState.STARTING
    with pytest.raises(NotFound):
        store.transition_replica(
            404, ReplicaState.PENDING, ReplicaState.STARTING, detail="c", now=clock.now()
        )


def test_crash_restart_counts_and_backs_off(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    store.transition_replica(
        replica.id, ReplicaState.PENDING, ReplicaState.STARTING, detail="go", now=clock.now()
    )
    for attempt in (1, 2):
        retry_at = clock.now() + timedelta(seconds=2**attempt)
        failed = store.transition_replica(
            replica.id,
            ReplicaState.STARTING,
            ReplicaState.FAILED,
            detail="exited with 1",
            now=clock.now(),
            next_attempt_at=retry_at,
        )
        assert failed.next_attempt_at == retry_at
        pending = store.transition_replica(
            replica.id,
            ReplicaState.FAILED,
            ReplicaState.PENDING,
            detail="restart",
            now=clock.now(),
            count_restart=True,
        )
        assert pending.restart_count == attempt
        assert pending.next_attempt_at == retry_at  # kept until replaced
        store.transition_replica(
            replica.id, ReplicaState.PENDING, ReplicaState.STARTING, detail="go", now=clock.now()
        )
    assert store.get_replica(replica.id).restart_count == 2


def test_listing_replicas(store: SqlStore, endpoint: Endpoint, clock: FakeClock) -> None:
    spec = custom_spec()
    other = store.create_endpoint(endpoint.project_id, "other", spec, spec.model_dump_json())
    live = store.create_replica(endpoint.id, 1, clock.now())
    gone = store.create_replica(endpoint.id, 1, clock.now())
    gone = store.transition_replica(
        gone.id, ReplicaState.PENDING, ReplicaState.STOPPED, detail="scale in", now=clock.now()
    )
    elsewhere = store.create_replica(other.id, 1, clock.now())

    assert store.list_replicas(endpoint.id) == [live]
    assert store.list_replicas(endpoint.id, include_stopped=True) == [live, gone]
    assert store.list_replicas() == [live, elsewhere]


def test_list_ready_replicas_spans_endpoints(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    spec = custom_spec()
    other = store.create_endpoint(endpoint.project_id, "other", spec, spec.model_dump_json())

    def make_ready(endpoint_id: int) -> int:
        replica = store.create_replica(endpoint_id, 1, clock.now())
        store.transition_replica(
            replica.id,
            ReplicaState.PENDING,
            ReplicaState.STARTING,
            detail="go",
            now=clock.now(),
            handle=HANDLE,
        )
        store.transition_replica(
            replica.id, ReplicaState.STARTING, ReplicaState.READY, detail="ok", now=clock.now()
        )
        return replica.id

    first = make_ready(endpoint.id)
    second = make_ready(other.id)
    store.create_replica(endpoint.id, 1, clock.now())  # pending: not routable

    ready = store.list_ready_replicas()
    assert [r.id for r in ready] == [first, second]
    assert all(r.state is ReplicaState.READY and r.handle == HANDLE for r in ready)


def test_delete_replica_is_idempotent(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    store.delete_replica(replica.id)
    store.delete_replica(replica.id)
    with pytest.raises(NotFound):
        store.get_replica(replica.id)


def test_replica_of_missing_endpoint_is_not_found(store: SqlStore, clock: FakeClock) -> None:
    with pytest.raises(NotFound):
        store.create_replica(404, 1, clock.now())
