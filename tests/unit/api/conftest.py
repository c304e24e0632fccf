from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from modelport.api.app import ApiServices, create_app
from modelport.catalog import PlanCatalog
from modelport.settings import Settings
from tests.unit.services.harness import World, make_world

MAX_BODY = 64 * 1024


@dataclass
class Api:
    """The API over HTTP, with one call per token kind."""

    world: World
    client: TestClient

    def call(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            token = self.world.keys.get(who, who)  # a role name, or a raw token
            headers["Authorization"] = f"Bearer {token}"
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("admin", method, path, **kwargs)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home", max_body_bytes=MAX_BODY, port=8080)
    services = ApiServices(
        world.endpoints, world.tokens, world.projects, PlanCatalog.load(), "http://127.0.0.1:8080"
    )
    app = create_app(services, world.authenticator, settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(world, client)
    world.store.close()


def web_body(name: str = "web", **spec: Any) -> dict[str, Any]:
    return {
        "name": name,
        "spec": {"framework": "custom", "command": ["serve", "{port}"], **spec},
    }


def assert_error(resp: httpx.Response, status: int, field: str | None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error: dict[str, Any] = resp.json()["error"]
    assert error["field"] == field, error
    if field is not None and status in (400, 413, 422):  # input errors name their field
        assert field in error["message"], error
    return error
