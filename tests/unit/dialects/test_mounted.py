"""The dialects as the server mounts them on the native API: each answers in its own envelope,
also where the native app's middleware (the body-size limit) steps in first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelport.api.app import ApiServices, create_app
from modelport.catalog import PlanCatalog
from modelport.dialects.registry import mount_dialects
from modelport.settings import Settings
from tests.unit.services.harness import make_world

LIMIT = 4096


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home", max_body_bytes=LIMIT, port=8080)
    services = ApiServices(
        world.endpoints, world.tokens, world.projects, PlanCatalog.load(), "http://gw"
    )
    app = create_app(services, world.authenticator, settings)
    mount_dialects(app, services, world.authenticator, settings)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client, world.keys["admin"]
    world.store.close()


def _oversized(client: TestClient, token: str, path: str) -> dict[str, object]:
    body = b'{"x": "' + b"a" * (LIMIT * 2) + b'"}'
    response = client.post(
        path,
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    payload = response.json()
    assert isinstance(payload, dict)
    return payload


def test_an_oversized_body_gets_each_apis_own_envelope(client: tuple[TestClient, str]):
    test_client, token = client
    native = _oversized(test_client, token, "/api/v1/endpoints")
    assert native["error"]["field"] == "body"  # type: ignore[index]

    tir = _oversized(test_client, token, "/tir/serving/inference/?project_id=1")
    assert tir["code"] == 413 and "body" in str(tir["errors"]) and "message" in tir

    deepinfra = _oversized(test_client, token, "/deepinfra/deploy/llm")
    assert "detail" in deepinfra

    tensormesh = _oversized(test_client, token, "/tensormesh/v1/models")
    assert tensormesh["code"] == 8 and "details" in tensormesh  # RESOURCE_EXHAUSTED
