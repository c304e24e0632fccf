"""Who may do what: tokens, roles, projects and endpoint-scoped keys."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import Api, assert_error, web_body

MUTATIONS = [
    ("PATCH", "/endpoints/web", {"spec": {"replicas": 2}}),
    ("POST", "/endpoints/web/stop", None),
    ("POST", "/endpoints/web/start", None),
    ("POST", "/endpoints/web/restart", None),
    ("DELETE", "/endpoints/web", None),  # last: nothing can change a deleted endpoint
]
READS = [
    "/endpoints",
    "/endpoints/web",
    "/endpoints/web/replicas",
    "/endpoints/web/events",
    "/endpoints/web/logs",
    "/whoami",
]


@pytest.mark.parametrize("path", ["/endpoints", "/endpoints/web", "/tokens", "/whoami"])
def test_no_token_or_a_bad_token_is_401(api: Api, path: str):
    for who in (None, "mp_not-a-real-token"):
        resp = api.call(who, "GET", path)
        assert_error(resp, 401, None)
        assert resp.headers["www-authenticate"] == "Bearer"
    basic = api.client.get(f"/api/v1{path}", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401


def test_another_projects_endpoint_is_not_found(api: Api):
    api.admin("POST", "/endpoints", json=web_body())
    assert_error(api.call("other_admin", "GET", "/endpoints/web"), 404, None)
    for method, path, body in MUTATIONS:
        assert api.call("other_admin", method, path, json=body).status_code == 404, path
    assert api.call("other_admin", "GET", "/endpoints").json()["items"] == []
    assert api.admin("GET", "/endpoints/web").json()["desired_state"] == "running"


def test_a_viewer_reads_but_cannot_change(api: Api):
    api.admin("POST", "/endpoints", json=web_body())
    assert_error(api.call("viewer", "POST", "/endpoints", json=web_body("new")), 403, None)
    for method, path, body in MUTATIONS:
        assert api.call("viewer", method, path, json=body).status_code == 403, path
    for path in READS:
        assert api.call("viewer", "GET", path).status_code == 200, path
    assert api.admin("GET", "/endpoints/web").json()["generation"] == 1


def test_a_member_manages_endpoints_but_not_tokens(api: Api):
    assert api.call("member", "POST", "/endpoints", json=web_body()).status_code == 201
    for method, path, body in MUTATIONS:
        assert api.call("member", method, path, json=body).status_code < 300, path
    assert api.call("member", "GET", "/tokens").status_code == 403
    assert api.call("member", "POST", "/tokens", json={"name": "x"}).status_code == 403


def test_an_endpoint_key_cannot_manage_and_sees_only_its_endpoint(api: Api):
    key = api.admin("POST", "/endpoints", json=web_body()).json()["api_key"]
    api.admin("POST", "/endpoints", json=web_body("other"))
    assert [e["name"] for e in api.call(key, "GET", "/endpoints").json()["items"]] == ["web"]
    assert api.call(key, "GET", "/endpoints/other").status_code == 404
    assert api.call(key, "POST", "/endpoints", json=web_body("third")).status_code == 403
    for method, path, body in MUTATIONS:
        assert api.call(key, method, path, json=body).status_code == 403, path
    assert api.call(key, "GET", "/tokens").status_code == 403
    assert api.call(key, "POST", "/projects", json={"name": "p"}).status_code == 403
