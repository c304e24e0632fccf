"""Who may do what: tokens, roles, projects, and a model's apiKey, which serves that one model
only. Secrets (apiKey, hfToken) are never shown again and never stored in clear."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from modelport.domain.errors import NotFound
from modelport.domain.records import Role
from tests.unit.dialects.tensormesh.conftest import Tm, assert_rpc_error, body

KEY_A = "tm-key-A-0123456789abcdef"
KEY_B = "tm-key-B-0123456789abcdef"
HF_TOKEN = "hf_neverShownAgain0123456789"


def test_a_token_is_required_and_must_match(tm: Tm):
    for who in (None, "mp_not-a-real-token"):
        resp = tm.call(who, "GET", "/models")
        assert_rpc_error(resp, 401, 16, None)
        assert resp.headers["WWW-Authenticate"] == "Bearer"
    resp = tm.call(None, "POST", "/models", json=body(), headers={"Authorization": "Basic x"})
    assert_rpc_error(resp, 401, 16, None)


def test_a_viewer_may_read_but_not_deploy_or_delete(tm: Tm):
    model = tm.deployed(body("a"))
    assert tm.call("viewer", "GET", f"/models/{model['modelId']}").status_code == 200
    assert_rpc_error(tm.deploy(body("b"), who="viewer"), 403, 7, None)
    assert_rpc_error(tm.call("viewer", "DELETE", f"/models/{model['modelId']}"), 403, 7, None)


def test_another_projects_models_do_not_exist(tm: Tm):
    model = tm.deployed(body("a"))
    assert tm.call("other_admin", "GET", "/models").json() == {"models": []}
    for method in ("GET", "DELETE"):
        resp = tm.call("other_admin", method, f"/models/{model['modelId']}")
        assert_rpc_error(resp, 404, 5, "modelId")


def test_an_api_key_serves_its_own_model_only_and_changes_nothing(tm: Tm):
    a = tm.deployed(body("model-a", apiKey=KEY_A))
    b = tm.deployed(body("model-b", apiKey=KEY_B))

    # The gateway authenticates inference with the same Authenticator: KEY_A is model A's key.
    principal = tm.world.authenticator.authenticate(f"Bearer {KEY_A}")
    endpoint_a = tm.world.store.get_endpoint_by_name(tm.world.project.id, a["deploymentId"])
    endpoint_b = tm.world.store.get_endpoint_by_name(tm.world.project.id, b["deploymentId"])
    assert (principal.endpoint_id, principal.role) == (endpoint_a.id, Role.MEMBER)
    principal.require_endpoint(endpoint_a.id)
    with pytest.raises(NotFound):
        principal.require_endpoint(endpoint_b.id)

    # Through the API: A is visible, B does not exist, nothing can be changed.
    assert tm.call(KEY_A, "GET", f"/models/{a['modelId']}").status_code == 200
    assert [m["modelName"] for m in tm.call(KEY_A, "GET", "/models").json()["models"]] == [
        "model-a"
    ]
    assert_rpc_error(tm.call(KEY_A, "GET", f"/models/{b['modelId']}"), 404, 5, "modelId")
    assert_rpc_error(tm.call(KEY_A, "DELETE", f"/models/{b['modelId']}"), 404, 5, "modelId")
    assert_rpc_error(tm.call(KEY_A, "DELETE", f"/models/{a['modelId']}"), 403, 7, None)
    assert_rpc_error(tm.deploy(body("model-c"), who=KEY_A), 403, 7, None)
    native = tm.client.post(
        f"/api/v1/endpoints/{a['deploymentId']}/stop",
        headers={"Authorization": f"Bearer {KEY_A}"},
    )
    assert native.status_code == 403
    assert tm.call("admin", "GET", f"/models/{a['modelId']}").json()["model"]["status"] != (
        "MODEL_STATUS_STOPPED"
    )


def test_a_chosen_api_key_is_the_models_only_key(tm: Tm):
    model = tm.deployed(body("solo", apiKey=KEY_A))
    endpoint = tm.world.store.get_endpoint_by_name(tm.world.project.id, model["deploymentId"])
    keys = [t for t in tm.world.store.list_tokens(tm.world.project.id) if not t.revoked]
    assert [t.endpoint_id for t in keys if t.endpoint_id is not None] == [endpoint.id]


def test_a_minted_key_works_when_no_api_key_is_given(tm: Tm):
    model = tm.deployed(body("minted"))
    principal = tm.world.authenticator.authenticate(f"Bearer {model['apiKey']}")
    endpoint = tm.world.store.get_endpoint_by_name(tm.world.project.id, "minted")
    assert principal.endpoint_id == endpoint.id


def test_an_api_key_in_use_is_refused_and_leaves_no_model_behind(tm: Tm):
    tm.deployed(body("first", apiKey=KEY_A))
    resp = tm.deploy(body("second", apiKey=KEY_A))
    assert_rpc_error(resp, 409, 6, "apiKey")
    statuses = {
        m["modelName"]: m["status"] for m in tm.call("admin", "GET", "/models").json()["models"]
    }
    assert statuses["second"] == "MODEL_STATUS_DELETING"
    # The admin's own token cannot become a model's key either (it would lose its powers).
    resp = tm.deploy(body("third", apiKey=tm.world.keys["admin"]))
    assert_rpc_error(resp, 409, 6, "apiKey")
    assert (
        tm.world.authenticator.authenticate(f"Bearer {tm.world.keys['admin']}").role is Role.ADMIN
    )


def _everything_shown(tm: Tm, model_id: str, name: str) -> list[Any]:
    admin = {"Authorization": f"Bearer {tm.world.keys['admin']}"}
    return [
        tm.call("admin", "GET", f"/models/{model_id}").text,
        tm.call("admin", "GET", "/models").text,
        tm.call("admin", "DELETE", f"/models/{model_id}").text,
        tm.client.get(f"/api/v1/endpoints/{name}", headers=admin).text,
        tm.client.get(f"/api/v1/endpoints/{name}/events", headers=admin).text,
        tm.client.get("/api/v1/tokens", headers=admin).text,
    ]


def test_secrets_are_never_shown_again_nor_stored_in_clear(tm: Tm):
    resp = tm.deploy(body("secretive", apiKey=KEY_A, hfToken=HF_TOKEN))
    assert resp.status_code == 200
    assert HF_TOKEN not in resp.text  # the HF token is never returned, not even now
    model = resp.json()["model"]
    assert model["apiKey"] == KEY_A  # the key: in this response only
    again = tm.deploy(body("secretive", apiKey=KEY_A, hfToken=HF_TOKEN))
    assert again.status_code == 200 and again.json()["model"]["apiKey"] == ""
    for shown in _everything_shown(tm, model["modelId"], model["deploymentId"]):
        assert HF_TOKEN not in shown and KEY_A not in shown
    # The engine still gets the token: sealed in the stored spec, opened only to run it.
    stored = tm.world.store.get_endpoint_by_name(tm.world.project.id, "secretive").spec
    [hf] = [e for e in stored.env if e.name == "HF_TOKEN"]
    assert hf.secret and tm.world.box.decrypt(hf.value) == HF_TOKEN
    # And the database file holds neither in clear.
    tm.world.store.close()
    with sqlite3.connect(tm.world.db_path) as db:
        dump = "\n".join(db.iterdump())
    assert HF_TOKEN not in dump and KEY_A not in dump
