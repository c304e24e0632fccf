"""The native API shows a replica's reason as the enum, its detail, and the one-line text; an
endpoint the autoscaler took to zero reads phase "idle"."""

from __future__ import annotations

from modelport.domain.decisions import ReplicaReason
from modelport.domain.states import ReplicaState
from tests.unit.api.conftest import Api, web_body


def test_a_replica_shows_reason_detail_and_the_line_people_read(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body()).json()["id"]
    store, now = api.world.store, api.world.clock.now()
    replica = store.create_replica(endpoint_id, 1, now)
    lacking = "needs 1x H100-80GB; this host has none"
    store.set_pending_reason(
        replica.id,
        reason=ReplicaReason.INSUFFICIENT_CAPACITY,
        detail=lacking,
        now=now,
        next_attempt_at=now,
    )
    [shown] = api.admin("GET", "/endpoints/web/replicas").json()["items"]
    assert (shown["state"], shown["reason"], shown["detail"]) == (
        "pending",
        "InsufficientCapacity",
        lacking,
    )
    assert shown["state_reason"] == f"InsufficientCapacity: {lacking}"


def test_scaled_to_zero_is_idle_and_waking_leaves_idle(api: Api):
    autoscale = {"enabled": True, "min_replicas": 0, "max_replicas": 2}
    created = api.admin("POST", "/endpoints", json=web_body(autoscale=autoscale)).json()
    assert created["phase"] == "deploying"  # before any decision: the spec's one replica
    store, now = api.world.store, api.world.clock.now()
    store.set_scale_target(created["id"], expected=None, target=0, now=now)
    got = api.admin("GET", "/endpoints/web").json()
    assert (got["phase"], got["replicas"]["desired"]) == ("idle", 0)
    store.set_scale_target(created["id"], expected=0, target=1, now=now)
    assert api.admin("GET", "/endpoints/web").json()["phase"] == "deploying"


def test_a_replica_created_says_so(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body()).json()["id"]
    replica = api.world.store.create_replica(endpoint_id, 1, api.world.clock.now())
    [shown] = api.admin("GET", "/endpoints/web/replicas").json()["items"]
    assert (shown["id"], shown["state"]) == (replica.id, ReplicaState.PENDING.value)
    assert (shown["reason"], shown["detail"], shown["state_reason"]) == (
        "ReplicaCreated",
        "",
        "ReplicaCreated",
    )
