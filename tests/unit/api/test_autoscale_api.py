"""GET /api/v1/endpoints/{name}/autoscale over HTTP, set through PATCH spec.autoscale."""

from __future__ import annotations

from typing import Any

from modelport.api.routes.autoscale import SCALED_REASON
from modelport.domain.records import EventLevel
from modelport.domain.scaling import ScaleChange, ScaleReason
from tests.unit.api.conftest import Api, assert_error, web_body

POLICY = {
    "enabled": True,
    "min_replicas": 0,
    "max_replicas": 3,
    "idle_timeout_seconds": 120,
    "stability_period_seconds": 60,
    "rules": [{"metric": "concurrency", "value": 4, "window_seconds": 10}],
}


def status(api: Api, who: str = "admin", name: str = "web", **params: Any) -> dict[str, Any]:
    resp = api.call(who, "GET", f"/endpoints/{name}/autoscale", params=params)
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def scaled(api: Api, endpoint_id: int, reason: str, detail: str, move: tuple[int, int]) -> None:
    """A Scaled event as the controller's autoscaler writes it: the change kept as data."""
    change = ScaleChange(
        reason=ScaleReason(reason), from_replicas=move[0], to_replicas=move[1], detail=detail
    )
    api.world.store.add_event(
        endpoint_id,
        level=EventLevel.INFO,
        reason=SCALED_REASON,
        message=change.message,
        now=api.world.clock.now(),
        scale=change,
    )


def test_a_fresh_endpoint_answers_its_policy_off_and_the_spec_count(api: Api):
    api.admin("POST", "/endpoints", json=web_body(replicas=2))

    body = status(api, "viewer")

    assert body["policy"]["enabled"] is False
    assert (body["target"], body["scaled_at"], body["wanted"]) == (None, None, 2)
    assert body["replicas"]["desired"] == 2
    assert body["decisions"] == []


def test_patch_sets_the_policy_without_rolling_and_status_echoes_it(api: Api):
    created = api.admin("POST", "/endpoints", json=web_body()).json()

    resp = api.call("member", "PATCH", "/endpoints/web", json={"spec": {"autoscale": POLICY}})

    assert resp.status_code == 200, resp.text
    assert resp.json()["template_generation"] == created["template_generation"]  # no rollout
    policy = status(api)["policy"]
    assert {k: policy[k] for k in POLICY if k != "rules"} == {
        k: v for k, v in POLICY.items() if k != "rules"
    }
    assert policy["rules"][0]["metric"] == "concurrency"
    assert policy["rules"][0]["value"] == 4
    assert policy["rules"][0]["window_seconds"] == 10


def test_target_wanted_replicas_and_decisions_newest_last(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body(autoscale=POLICY)).json()["id"]
    store, now = api.world.store, api.world.clock.now()
    store.set_scale_target(endpoint_id, expected=None, target=2, now=now)
    store.create_replica(endpoint_id, 1, now)
    store.create_replica(endpoint_id, 1, now)
    scaled(api, endpoint_id, "wake", "demand at zero (in flight 1, queued 0)", (0, 1))
    scaled(api, endpoint_id, "panic", "concurrency 7.5/replica > target 4 over 10 s", (1, 2))
    store.add_event(endpoint_id, level=EventLevel.INFO, reason="ReplicaReady", message="x", now=now)

    body = status(api)

    assert (body["target"], body["wanted"]) == (2, 2)
    assert body["scaled_at"] is not None
    counts = body["replicas"]
    assert (counts["starting"], counts["pending"], counts["ready"]) == (0, 2, 0)
    assert [(d["from_replicas"], d["to_replicas"]) for d in body["decisions"]] == [(0, 1), (1, 2)]
    latest = body["decisions"][-1]
    assert latest["detail"] == "concurrency 7.5/replica > target 4 over 10 s"
    assert (latest["reason"], body["decisions"][0]["reason"]) == ("panic", "wake")
    assert [d["to_replicas"] for d in status(api, decisions=1)["decisions"]] == [2]
    assert status(api, decisions=0)["decisions"] == []


def test_the_target_is_clamped_to_the_bounds_and_zero_when_stopped(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body(autoscale=POLICY)).json()["id"]
    api.world.store.set_scale_target(
        endpoint_id, expected=None, target=9, now=api.world.clock.now()
    )
    assert (status(api)["target"], status(api)["wanted"]) == (9, 3)

    api.admin("POST", "/endpoints/web/stop")

    assert status(api)["wanted"] == 0


def test_a_scaled_event_without_its_data_is_shown_by_its_message(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body(autoscale=POLICY)).json()["id"]
    api.world.store.add_event(
        endpoint_id,
        level=EventLevel.INFO,
        reason=SCALED_REASON,
        message="bounds changed",
        now=api.world.clock.now(),
    )

    (only,) = status(api)["decisions"]

    assert (only["from_replicas"], only["to_replicas"], only["detail"]) == (
        None,
        None,
        "bounds changed",
    )


def test_decisions_are_found_past_a_page_of_other_events(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body(autoscale=POLICY)).json()["id"]
    scaled(api, endpoint_id, "wake", "first", (0, 1))
    store, now = api.world.store, api.world.clock.now()
    for _ in range(1001):
        store.add_event(endpoint_id, level=EventLevel.INFO, reason="Noise", message="", now=now)
    scaled(api, endpoint_id, "scale_up", "last", (1, 2))

    body = status(api, decisions=5)

    assert [d["detail"] for d in body["decisions"]] == ["first", "last"]


def test_errors_in_the_native_envelope_and_other_projects_see_nothing(api: Api):
    api.admin("POST", "/endpoints", json=web_body())
    assert_error(api.admin("GET", "/endpoints/nope/autoscale"), 404, None)
    assert_error(api.admin("GET", "/endpoints/web/autoscale?decisions=101"), 422, "decisions")
    assert_error(api.admin("GET", "/endpoints/web/autoscale?decisions=x"), 422, "decisions")
    assert_error(api.admin("GET", "/endpoints/Bad_Name/autoscale"), 422, "name")
    assert api.call(None, "GET", "/endpoints/web/autoscale").status_code == 401
    assert api.call("other_admin", "GET", "/endpoints/web/autoscale").status_code == 404
    bad = api.admin(
        "PATCH", "/endpoints/web", json={"spec": {"autoscale": {"min_replicas": 3}}}
    )  # min above the default max of 1
    assert_error(bad, 422, "spec.autoscale.max_replicas")
