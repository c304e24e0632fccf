"""The Tensormesh API as the server mounts it: the native app with /tensormesh, on real SQLite."""

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
from modelport.dialects.tensormesh.app import create_app as create_tensormesh_app
from modelport.settings import Settings
from tests.unit.services.harness import GATEWAY, World, make_world

USER_ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
OTHER_USER_ID = "0b5e8f3c-1d2a-4c6b-9e7f-a1b2c3d4e5f6"


@dataclass
class Tm:
    """The mounted API, called with a role's token ("admin", "member", ...) or a raw token."""

    world: World
    client: TestClient

    def call(self, who: str | None, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.world.keys.get(who, who)}"
        return self.client.request(method, f"/tensormesh/v1{path}", headers=headers, **kwargs)

    def deploy(self, body: dict[str, Any], who: str = "member") -> httpx.Response:
        return self.call(who, "POST", "/models", json=body)

    def deployed(self, body: dict[str, Any], who: str = "member") -> dict[str, Any]:
        resp = self.deploy(body, who)
        assert resp.status_code == 200, resp.text
        model: dict[str, Any] = resp.json()["model"]
        return model


@pytest.fixture
def tm(tmp_path: Path) -> Iterator[Tm]:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home", port=8080, max_body_bytes=64 * 1024)
    services = ApiServices(
        world.endpoints, world.tokens, world.projects, PlanCatalog.load(), GATEWAY
    )
    app = create_app(services, world.authenticator, settings)
    app.mount("/tensormesh", create_tensormesh_app(services, world.authenticator, settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Tm(world, client)
    world.store.close()


def body(name: str = "llama-small", **fields: Any) -> dict[str, Any]:
    """A minimal valid deploy request (vLLM on one H100)."""
    return {
        "modelName": name,
        "userId": USER_ID,
        "modelPath": "meta-llama/Llama-3.2-1B-Instruct",
        "gpuCount": 1,
        "gpuType": "GPU_TYPE_H100",
        **fields,
    }


def assert_rpc_error(resp: httpx.Response, status: int, code: int, field: str | None) -> str:
    """A google.rpc.Status body with that code; input errors name their field first."""
    assert resp.status_code == status, resp.text
    error = resp.json()
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code and error["details"] == [], error
    message: str = error["message"]
    if field is not None:
        assert message.startswith(f"{field}: "), message
    return message
