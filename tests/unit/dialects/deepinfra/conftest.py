"""The DeepInfra dialect mounted at /deepinfra on the real management API, over real SQLite.

Mounted exactly as the server does it, so the native /api/v1 view of the same endpoints is
one call away.
"""

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
from modelport.dialects.deepinfra import app as deepinfra_app
from modelport.settings import Settings
from tests.unit.services.harness import World, make_world

HF_TOKEN = "hf_deepinfra-s3cret-token-value"


@dataclass
class DeepInfra:
    world: World
    client: TestClient

    def call(
        self, method: str, path: str, who: str | None = "admin", **kwargs: Any
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.world.keys.get(who, who)}"
        return self.client.request(method, f"/deepinfra{path}", headers=headers, **kwargs)

    def deploy(self, body: dict[str, Any], who: str = "admin") -> httpx.Response:
        return self.call("POST", "/deploy/llm", who, json=body)

    def deployed(self, body: dict[str, Any]) -> dict[str, Any]:
        resp = self.deploy(body)
        assert resp.status_code == 200, resp.text
        result: dict[str, Any] = resp.json()
        return result

    def native(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.world.keys['admin']}"}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def native_endpoint(self, model_name: str) -> dict[str, Any]:
        items = self.native("GET", "/endpoints").json()["items"]
        found = [
            e for e in items if e["spec"]["extensions"]["deepinfra"]["model_name"] == model_name
        ]
        assert len(found) == 1, items
        return dict(found[0])


@pytest.fixture
def di(tmp_path: Path) -> Iterator[DeepInfra]:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home", port=8080)
    services = ApiServices(
        world.endpoints, world.tokens, world.projects, PlanCatalog.load(), "http://127.0.0.1:8080"
    )
    app = create_app(services, world.authenticator, settings)
    app.mount("/deepinfra", deepinfra_app.create_app(services, world.authenticator, settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield DeepInfra(world, client)
    world.store.close()


def body(model_name: str = "acme/chat-model", **fields: Any) -> dict[str, Any]:
    return {"model_name": model_name, "gpu": "L4-24GB", **fields}


def seed_example(token: str = HF_TOKEN) -> dict[str, Any]:
    """Seed 002's example request, verbatim, with its placeholders filled in."""
    return {
        "model_name": "acme/smollm2-chat",
        "gpu": "L4-24GB",
        "num_gpus": 1,
        "max_batch_size": 96,
        "hf": {
            "repo": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "revision": "12fd25f77366fa6b3b4b768ec3050bf629380bac",
            "token": token,
        },
        "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "settings": {"min_instances": 1, "max_instances": 1},
        "extra_args": ["--max-model-len", "2048"],
    }


def gguf_file(tmp_path: Path) -> Path:
    """A file with a .gguf name: enough for the API, which only plans (never loads) it."""
    path = tmp_path / "tiny-model.gguf"
    path.write_bytes(b"GGUF")
    return path
