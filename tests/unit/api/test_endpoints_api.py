"""Endpoint lifecycle through HTTP: create, read, change, act, delete."""

from __future__ import annotations

from modelport.domain.records import ReplicaHandle
from modelport.domain.states import ReplicaState
from tests.unit.api.conftest import Api, assert_error, web_body


def test_create_then_get_and_list(api: Api):
    resp = api.admin("POST", "/endpoints", json=web_body(replicas=2))
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["api_key"].startswith("mp_")
    assert created["url"] == "http://127.0.0.1:8080/endpoints/web/v1"
    assert (created["generation"], created["desired_state"]) == (1, "running")
    assert created["phase"] == "deploying"
    assert created["replicas"]["desired"] == 2

    got = api.admin("GET", "/endpoints/web").json()
    assert got["id"] == created["id"]
    assert "api_key" not in got
    listed = api.admin("GET", "/endpoints").json()["items"]
    assert [e["name"] for e in listed] == ["web"]
    assert_error(api.admin("GET", "/endpoints/nope"), 404, None)


def test_create_is_idempotent_and_a_different_spec_conflicts(api: Api):
    first = api.admin("POST", "/endpoints", json=web_body())
    again = api.admin("POST", "/endpoints", json=web_body())
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["api_key"] is None
    error = assert_error(api.admin("POST", "/endpoints", json=web_body(replicas=5)), 409, "name")
    assert error["type"] == "conflict"


def test_the_inference_key_from_create_reads_its_endpoint(api: Api):
    key = api.admin("POST", "/endpoints", json=web_body()).json()["api_key"]
    assert api.call(key, "GET", "/endpoints/web").status_code == 200
    assert api.call(key, "GET", "/whoami").json()["role"] == "member"


def test_patch_merges_and_checks_the_generation(api: Api):
    api.admin("POST", "/endpoints", json=web_body())
    resp = api.admin("PATCH", "/endpoints/web", json={"spec": {"replicas": 3}, "generation": 1})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["generation"], resp.json()["spec"]["replicas"]) == (2, 3)
    assert resp.json()["spec"]["command"] == ["serve", "{port}"]  # untouched fields kept

    noop = api.admin("PATCH", "/endpoints/web", json={"spec": {"replicas": 3}})
    assert noop.json()["generation"] == 2

    stale = api.admin("PATCH", "/endpoints/web", json={"spec": {"replicas": 1}, "generation": 1})
    error = assert_error(stale, 409, "generation")
    assert "re-read" in error["message"]

    bad = api.admin("PATCH", "/endpoints/web", json={"spec": {"replicas": -2}})
    assert_error(bad, 422, "spec.replicas")
    assert_error(api.admin("PATCH", "/endpoints/nope", json={"spec": {}}), 404, None)


def test_actions_and_events(api: Api):
    api.admin("POST", "/endpoints", json=web_body())
    stopped = api.admin("POST", "/endpoints/web/stop")
    assert stopped.status_code == 200
    assert stopped.json()["endpoint"]["desired_state"] == "stopped"
    assert stopped.json()["endpoint"]["phase"] == "stopped"
    assert stopped.json()["message"]
    started = api.admin("POST", "/endpoints/web/start").json()["endpoint"]
    assert started["desired_state"] == "running"
    restarted = api.admin("POST", "/endpoints/web/restart").json()["endpoint"]
    assert restarted["generation"] == 2

    events = api.admin("GET", "/endpoints/web/events").json()["items"]
    assert [e["reason"] for e in events] == [
        "EndpointCreated",
        "EndpointStopped",
        "EndpointStarted",
        "EndpointRestarted",
    ]
    later = api.admin("GET", f"/endpoints/web/events?after_id={events[1]['id']}&limit=1")
    assert [e["reason"] for e in later.json()["items"]] == ["EndpointStarted"]
    assert_error(api.admin("GET", "/endpoints/web/events?limit=0"), 422, "limit")


def test_delete_answers_202_and_revokes_the_inference_key(api: Api):
    key = api.admin("POST", "/endpoints", json=web_body()).json()["api_key"]
    resp = api.admin("DELETE", "/endpoints/web")
    assert resp.status_code == 202
    assert resp.json()["endpoint"]["desired_state"] == "deleted"
    assert resp.json()["endpoint"]["phase"] == "deleting"
    assert api.call(key, "GET", "/endpoints/web").status_code == 401
    assert_error(api.admin("POST", "/endpoints/web/start"), 409, "name")


def test_replicas_and_logs(api: Api, tmp_path):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body()).json()["id"]
    store, now = api.world.store, api.world.clock.now()
    log_path = tmp_path / "r.log"
    log_path.write_text("booting\nlistening on 9000\n")
    replica = store.create_replica(endpoint_id, 1, now)
    handle = ReplicaHandle(
        backend="local", host="127.0.0.1", port=9000, pid=4242, log_path=str(log_path)
    )
    store.transition_replica(
        replica.id, ReplicaState.PENDING, ReplicaState.STARTING, detail="t", now=now, handle=handle
    )
    items = api.admin("GET", "/endpoints/web/replicas").json()["items"]
    assert [(r["id"], r["state"], r["handle"]["pid"]) for r in items] == [
        (replica.id, "starting", 4242)
    ]
    logs = api.admin("GET", "/endpoints/web/logs?tail_bytes=18").json()["items"]
    assert logs == [{"replica_id": replica.id, "text": "listening on 9000\n"}]
    assert_error(api.admin("GET", "/endpoints/web/logs?tail_bytes=0"), 422, "tail_bytes")


def test_healthz_needs_no_token(api: Api):
    assert api.client.get("/healthz").json() == {"status": "ok"}
