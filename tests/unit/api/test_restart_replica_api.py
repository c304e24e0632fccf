"""POST /api/v1/endpoints/{name}/replicas/{replica_id}/restart over HTTP."""

from __future__ import annotations

from modelport.domain.states import ReplicaState
from tests.unit.api.conftest import Api, assert_error, web_body


def replica_of(api: Api, endpoint_id: int) -> int:
    return api.world.store.create_replica(endpoint_id, 1, api.world.clock.now()).id


def test_restart_answers_the_replica_marked_and_lists_it_so(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body(replicas=2)).json()["id"]
    target, other = replica_of(api, endpoint_id), replica_of(api, endpoint_id)

    resp = api.call("member", "POST", f"/endpoints/web/replicas/{target}/restart")

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["id"], body["state"]) == (target, "pending")
    assert body["restart_requested_at"] is not None
    items = {r["id"]: r for r in api.admin("GET", "/endpoints/web/replicas").json()["items"]}
    assert items[target]["restart_requested_at"] == body["restart_requested_at"]
    assert items[other]["restart_requested_at"] is None
    events = api.admin("GET", "/endpoints/web/events").json()["items"]
    assert [(e["reason"], e["replica_id"]) for e in events][-1] == (
        "ReplicaRestartRequested",
        target,
    )


def test_errors_name_the_replica_in_the_native_envelope(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body()).json()["id"]
    replica_id = replica_of(api, endpoint_id)
    assert_error(api.admin("POST", "/endpoints/web/replicas/424242/restart"), 404, "replica")
    assert_error(api.admin("POST", "/endpoints/nope/replicas/1/restart"), 404, None)
    assert_error(api.admin("POST", "/endpoints/web/replicas/abc/restart"), 422, "replica_id")
    assert_error(api.admin("POST", "/endpoints/web/replicas/0/restart"), 422, "replica_id")
    viewer = api.call("viewer", "POST", f"/endpoints/web/replicas/{replica_id}/restart")
    assert viewer.status_code == 403, viewer.text
    assert api.call(None, "POST", f"/endpoints/web/replicas/{replica_id}/restart").status_code == (
        401
    )
    assert api.world.store.get_replica(replica_id).restart_requested_at is None
    store, now = api.world.store, api.world.clock.now()
    store.transition_replica(
        replica_id, ReplicaState.PENDING, ReplicaState.STOPPED, detail="", now=now
    )
    assert_error(api.admin("POST", f"/endpoints/web/replicas/{replica_id}/restart"), 404, "replica")
