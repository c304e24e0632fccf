"""Secret env values: masked in every response, encrypted in the database."""

from __future__ import annotations

import sqlite3

from modelport.security.secrets import REDACTED
from modelport.services.spec_secrets import engine_environment
from tests.unit.api.conftest import Api, web_body

SECRET = "sk-live-0123456789abcdef"
ENV = [{"name": "API_SECRET", "value": SECRET, "secret": True}, {"name": "MODE", "value": "x"}]


def _stored_env(api: Api) -> dict[str, str]:
    endpoint = api.world.store.get_endpoint_by_name(api.world.project.id, "web")
    return engine_environment(endpoint.spec, api.world.box)


def test_secret_values_never_come_back_and_are_encrypted_at_rest(api: Api):
    responses = [
        api.admin("POST", "/endpoints", json=web_body(env=ENV)),
        api.admin("POST", "/endpoints", json=web_body(env=ENV)),  # idempotent
        api.admin("GET", "/endpoints/web"),
        api.admin("GET", "/endpoints"),
        api.admin("PATCH", "/endpoints/web", json={"spec": {"replicas": 2}}),
        api.admin("POST", "/endpoints/web/restart"),
        api.admin("GET", "/endpoints/web/events"),
    ]
    for resp in responses:
        assert resp.status_code < 300, resp.text
        assert SECRET not in resp.text
    shown = responses[2].json()["spec"]["env"]
    assert shown == [
        {**ENV[0], "value": REDACTED, "required": False, "disabled": False},
        {**ENV[1], "secret": False, "required": False, "disabled": False},
    ]
    raw = sqlite3.connect(api.world.db_path).execute("SELECT spec FROM endpoints").fetchall()
    assert raw and all(SECRET not in row[0] for row in raw)
    assert _stored_env(api) == {"API_SECRET": SECRET, "MODE": "x"}


def test_patching_with_the_mask_keeps_the_secret(api: Api):
    api.admin("POST", "/endpoints", json=web_body(env=ENV))
    env = api.admin("GET", "/endpoints/web").json()["spec"]["env"]
    env[1]["value"] = "y"
    resp = api.admin("PATCH", "/endpoints/web", json={"spec": {"env": env}})
    assert resp.json()["generation"] == 2
    assert _stored_env(api) == {"API_SECRET": SECRET, "MODE": "y"}
