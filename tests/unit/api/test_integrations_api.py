"""/api/v1/integrations over HTTP: a secret goes in and never comes out (no answer, no stored
row holds it), rotation and field changes, 4xx naming the field, 409 while an endpoint names
it, and nothing of another project's. Real app, real SQLite store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from modelport.api.app import ApiServices, create_app
from modelport.catalog import PlanCatalog
from modelport.services.endpoints import EndpointService
from modelport.services.integrations import IntegrationService
from modelport.settings import Settings
from tests.unit.api.conftest import Api, assert_error, web_body
from tests.unit.services.harness import GATEWAY, make_world

TOKEN = "hf_api-test-token-0123456789"
PASSWORD = "registry-api-pass-0123456789"
HUB = {"name": "hub", "kind": "hugging_face", "token": TOKEN}
REG = {
    "name": "reg",
    "kind": "registry",
    "server": "127.0.0.1:5000",
    "username": "puller",
    "password": PASSWORD,
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    world = make_world(tmp_path)
    integrations = IntegrationService(world.store, world.box)
    endpoints = EndpointService(
        world.store, world.box, world.clock, GATEWAY, integrations=integrations
    )
    services = ApiServices(
        endpoints, world.tokens, world.projects, PlanCatalog.load(), GATEWAY,
        integrations=integrations,
    )  # fmt: skip
    app = create_app(services, world.authenticator, Settings(home=tmp_path / "home"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(world, client)
    world.store.close()


def created(api: Api, body: dict[str, Any], who: str = "member") -> dict[str, Any]:
    resp = api.call(who, "POST", "/integrations", json=body)
    assert resp.status_code == 201, resp.text
    answer: dict[str, Any] = resp.json()
    return answer


def test_the_secret_goes_in_and_never_comes_out(api: Api) -> None:
    hub = created(api, HUB)
    assert hub["kind"] == "hugging_face" and hub["secret_set"] is True and hub["version"] == 1
    reg = created(api, REG)
    assert (reg["server"], reg["username"]) == ("127.0.0.1:5000", "puller")
    answers = [
        api.call("viewer", "GET", "/integrations"),
        api.call("viewer", "GET", "/integrations/hub"),
        api.call("viewer", "GET", f"/integrations/{reg['id']}"),
        api.admin("PUT", "/integrations/reg/secret", json={"password": PASSWORD + "-2"}),
        api.admin("PATCH", "/integrations/reg", json={"username": "robot"}),
    ]
    for resp in answers:
        assert resp.status_code == 200, resp.text
        assert TOKEN not in resp.text and PASSWORD not in resp.text
    assert [i["name"] for i in answers[0].json()["items"]] == ["hub", "reg"]
    assert answers[2].json()["name"] == "reg"
    assert answers[3].json()["version"] == 2 and answers[4].json()["version"] == 3
    assert answers[4].json()["username"] == "robot"
    rows = sqlite3.connect(api.world.db_path).execute("SELECT * FROM integrations").fetchall()
    assert len(rows) == 2 and not any(s in str(rows) for s in (TOKEN, PASSWORD))
    lookup = IntegrationService(api.world.store, api.world.box)  # as a consumer at launch
    login = lookup.registry_login(api.world.project.id, "reg", "f")
    assert (login.username, login.password) == ("robot", PASSWORD + "-2")


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/integrations", {"name": "hub", "kind": "hugging_face"}, 422, "token"),
        ("POST", "/integrations", {**HUB, "kind": "ftp"}, 422, "kind"),
        ("POST", "/integrations", {**HUB, "tokn": "x"}, 422, "tokn"),
        ("POST", "/integrations", {**HUB, "token": "a\nb"}, 422, "token"),
        ("POST", "/integrations", {**REG, "server": None}, 422, "server"),
        ("POST", "/integrations", {**HUB, "password": "p"}, 422, "password"),
        ("POST", "/integrations", {**HUB, "name": "42"}, 422, "name"),
        ("PUT", "/integrations/hub/secret", {"password": "p"}, 422, "password"),
        ("PUT", "/integrations/hub/secret", {}, 422, "token"),
        ("PATCH", "/integrations/hub", {"region": "eu"}, 422, "region"),
        ("PATCH", "/integrations/hub", {"token": "t"}, 422, "token"),  # secrets go by PUT
        ("GET", "/integrations/missing", None, 404, None),
        ("GET", "/integrations/99999999999999999999999", None, 404, None),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    api: Api, method: str, path: str, body: Any, status: int, field: str | None
) -> None:
    created(api, HUB)
    assert_error(api.admin(method, path, json=body), status, field)


def test_roles_and_projects(api: Api) -> None:
    hub = created(api, HUB)
    assert_error(api.call("viewer", "POST", "/integrations", json=REG), 403, None)
    assert_error(api.call("viewer", "DELETE", "/integrations/hub"), 403, None)
    for ref in ("hub", str(hub["id"])):
        assert_error(api.call("other_admin", "GET", f"/integrations/{ref}"), 404, None)
        put = api.call("other_admin", "PUT", f"/integrations/{ref}/secret", json={"token": "x"})
        assert_error(put, 404, None)
        assert_error(api.call("other_admin", "DELETE", f"/integrations/{ref}"), 404, None)
    assert api.call("other_admin", "GET", "/integrations").json() == {"items": []}
    # Their endpoint cannot name ours either.
    model = {"hf_id": "org/m", "integration": str(hub["id"])}
    theirs = {"name": "fetches", "spec": {"framework": "vllm", "model": model}}
    resp = api.call("other_admin", "POST", "/endpoints", json=theirs)
    assert_error(resp, 422, "spec.model.integration")
    assert_error(api.call(None, "GET", "/integrations"), 401, None)


def test_endpoints_must_name_one_and_delete_waits_for_them(api: Api) -> None:
    created(api, HUB)
    created(api, REG)
    wrong = web_body(model={"image": "127.0.0.1:5000/m", "registry_integration": "hub"})
    assert_error(
        api.admin("POST", "/endpoints", json=wrong), 422, "spec.model.registry_integration"
    )
    right = web_body(model={"image": "127.0.0.1:5000/m", "registry_integration": "reg"})
    assert api.admin("POST", "/endpoints", json=right).status_code == 201

    error = assert_error(api.admin("DELETE", "/integrations/reg"), 409, "name")
    assert "web" in error["message"]
    assert api.admin("DELETE", "/endpoints/web").status_code < 300
    assert api.admin("DELETE", "/integrations/reg").status_code == 204
    assert_error(api.admin("GET", "/integrations/reg"), 404, None)
    assert api.admin("DELETE", "/integrations/hub").status_code == 204
