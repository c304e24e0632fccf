"""Tokens and projects over HTTP: shown once, never their hash, revocable."""

from __future__ import annotations

from tests.unit.api.conftest import Api, assert_error, web_body


def test_create_use_list_and_revoke_a_token(api: Api):
    resp = api.admin("POST", "/tokens", json={"name": "ci", "role": "viewer"})
    assert resp.status_code == 201, resp.text
    created = resp.json()
    token = created["token"]
    assert token.startswith(created["prefix"])
    who = api.call(token, "GET", "/whoami").json()
    assert (who["role"], who["project"], who["endpoint_id"]) == ("viewer", "team-a", None)

    listing = api.admin("GET", "/tokens")
    assert created["id"] in [t["id"] for t in listing.json()["items"]]
    assert token not in listing.text
    assert "hash" not in listing.text

    assert api.admin("DELETE", f"/tokens/{created['id']}").status_code == 204
    assert api.call(token, "GET", "/whoami").status_code == 401
    assert created["id"] not in [t["id"] for t in api.admin("GET", "/tokens").json()["items"]]
    assert api.call("other_admin", "DELETE", f"/tokens/{created['id']}").status_code == 404


def test_an_endpoint_scoped_token(api: Api):
    endpoint_id = api.admin("POST", "/endpoints", json=web_body()).json()["id"]
    created = api.admin("POST", "/tokens", json={"name": "k", "role": "viewer", "endpoint": "web"})
    assert created.json()["endpoint_id"] == endpoint_id
    missing = api.admin("POST", "/tokens", json={"name": "k", "endpoint": "nope"})
    assert_error(missing, 404, "endpoint")
    assert_error(api.admin("POST", "/tokens", json={"name": "k", "role": "owner"}), 422, "role")
    assert_error(api.admin("POST", "/tokens", json={"name": ""}), 422, "name")


def test_projects(api: Api):
    projects = api.admin("GET", "/projects").json()["items"]
    assert [p["name"] for p in projects] == ["team-a"]
    resp = api.call("server_admin", "POST", "/projects", json={"name": "team-c"})
    assert resp.status_code == 201, resp.text
    admin_token = resp.json()["admin_token"]
    assert resp.json()["host_access"] is False
    assert resp.json()["limits"]["max_endpoints"] is None
    who = api.call(admin_token, "GET", "/whoami").json()
    assert (who["project"], who["server_admin"], who["host_access"]) == ("team-c", False, False)
    again = api.call("server_admin", "POST", "/projects", json={"name": "team-c"})
    assert_error(again, 409, "name")
    bad = api.call("server_admin", "POST", "/projects", json={"name": "Team C"})
    assert_error(bad, 422, "name")
    for who in ("admin", "member"):
        assert_error(api.call(who, "POST", "/projects", json={"name": "x"}), 403, None)


def test_the_server_admin_sets_limits_and_host_access(api: Api):
    patch = {"limits": {"max_endpoints": 1, "max_gpus": 0}, "host_access": True}
    for who in ("admin", "other_admin", "member"):
        assert_error(api.call(who, "PATCH", "/projects/team-b", json=patch), 403, None)
    resp = api.call("server_admin", "PATCH", "/projects/team-b", json=patch)
    assert resp.status_code == 200, resp.text
    assert resp.json()["host_access"] is True
    assert resp.json()["limits"]["max_endpoints"] == 1
    # Only the named limits change; null lifts one.
    resp = api.call(
        "server_admin", "PATCH", "/projects/team-b", json={"limits": {"max_gpus": None}}
    )
    assert (resp.json()["limits"]["max_endpoints"], resp.json()["limits"]["max_gpus"]) == (1, None)
    assert resp.json()["host_access"] is True
    # The grant applies at once to the project's tokens (no 5 s cache).
    assert api.call("other_admin", "GET", "/whoami").json()["host_access"] is True
    seen = api.call("other_admin", "GET", "/projects/team-b").json()
    assert seen["limits"]["max_endpoints"] == 1
    assert_error(api.call("other_admin", "GET", "/projects/team-a"), 404, "name")
    bad = api.call("server_admin", "PATCH", "/projects/team-b", json={"limits": {"max_gpus": -1}})
    assert_error(bad, 422, "limits.max_gpus")
    assert_error(api.call("server_admin", "PATCH", "/projects/nope", json=patch), 404, "name")


def test_the_server_admin_mints_a_token_for_a_team(api: Api):
    body = {"name": "team-b-admin", "role": "admin"}
    assert_error(api.call("admin", "POST", "/projects/team-b/tokens", json=body), 403, None)
    resp = api.call("server_admin", "POST", "/projects/team-b/tokens", json=body)
    assert resp.status_code == 201, resp.text
    who = api.call(resp.json()["token"], "GET", "/whoami").json()
    assert (who["project"], who["role"], who["server_admin"]) == ("team-b", "admin", False)
