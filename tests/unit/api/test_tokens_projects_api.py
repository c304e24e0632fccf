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
    resp = api.admin("POST", "/projects", json={"name": "team-c"})
    assert resp.status_code == 201, resp.text
    admin_token = resp.json()["admin_token"]
    assert api.call(admin_token, "GET", "/whoami").json()["project"] == "team-c"
    assert_error(api.admin("POST", "/projects", json={"name": "team-c"}), 409, "name")
    assert_error(api.admin("POST", "/projects", json={"name": "Team C"}), 422, "name")
    assert api.call("member", "POST", "/projects", json={"name": "x"}).status_code == 403
