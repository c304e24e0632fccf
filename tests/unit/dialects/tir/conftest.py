"""The TIR dialect mounted at /tir on the real management API, over real SQLite.

Mounted exactly as the server does it, so the native /api/v1 view of the same endpoints is one
call away.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from modelport.api.app import ApiServices, create_app
from modelport.catalog import PlanCatalog
from modelport.dialects.tir import app as tir_app
from modelport.settings import Settings
from tests.unit.services.harness import World, make_world

GATEWAY = "http://127.0.0.1:8080"
HF_TOKEN = "hf_tir-s3cret-token-value-0042"

# Seed 000, "To launch on TIR Cluster" and "To launch on Private Cluster", verbatim.
SEED_TIR_CLUSTER = """
"cluster_type": "tir-cluster",
"sku_id": 162,
"sku_item_price_id": 755
"""
SEED_PRIVATE_CLUSTER = """
"cluster_type": "private-cluster",
"custom_sku": {
  "cpu": 1,
  "gpu": 0,
  "memory": 1
},
"private_cloud_id": < Private Cluster Id>
"""


def seed_fragment(text: str, **placeholders: str) -> dict[str, Any]:
    """A seed 000 snippet (JSON members without braces) as a dict, its placeholders filled."""
    for placeholder, value in placeholders.items():
        text = text.replace(placeholder, value)
    parsed: dict[str, Any] = json.loads("{" + text + "}")
    return parsed


@dataclass
class Tir:
    world: World
    client: TestClient

    @property
    def project_id(self) -> int:
        return self.world.project.id

    def call(
        self,
        method: str,
        path: str,
        who: str | None = "admin",
        params: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if who is not None:
            headers["Authorization"] = f"Bearer {self.world.keys.get(who, who)}"
        query = {"project_id": self.project_id, "location": "Delhi", **(params or {})}
        query = {k: v for k, v in query.items() if v is not None}
        return self.client.request(method, f"/tir{path}", headers=headers, params=query, **kwargs)

    def create(self, body: dict[str, Any], who: str = "admin", **params: Any) -> httpx.Response:
        return self.call("POST", "/serving/inference/", who, params=params, json=body)

    def created(self, body: dict[str, Any]) -> dict[str, Any]:
        return self.created_in(body)

    def created_in(self, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        resp = self.create(body, **params)
        assert resp.status_code == 201, resp.text
        data: dict[str, Any] = resp.json()["data"]
        return data

    def get(self, inference_id: int) -> dict[str, Any]:
        resp = self.call("GET", f"/serving/inference/{inference_id}/")
        assert resp.status_code == 200, resp.text
        data: dict[str, Any] = resp.json()["data"]
        return data

    def put(self, inference_id: int, body: dict[str, Any], **params: Any) -> httpx.Response:
        return self.call("PUT", f"/serving/inference/{inference_id}/", params=params, json=body)

    def native(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.world.keys['admin']}"}
        return self.client.request(method, f"/api/v1{path}", headers=headers, **kwargs)

    def native_endpoint(self, name: str) -> dict[str, Any]:
        resp = self.native("GET", f"/endpoints/{name}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())


@pytest.fixture
def tir(tmp_path: Path) -> Iterator[Tir]:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home", port=8080)
    services = ApiServices(
        world.endpoints, world.tokens, world.projects, PlanCatalog.load(), GATEWAY
    )
    app = create_app(services, world.authenticator, settings)
    app.mount("/tir", tir_app.create_app(services, world.authenticator, settings))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Tir(world, client)
    world.store.close()


_BASE: dict[str, Any] = {
    "name": "vllm-chat",
    "path": "",
    "custom_endpoint_details": {
        "service_port": False,
        "metric_port": False,
        "container": {
            "container_name": "vllm/vllm-openai:latest",
            "container_type": "public",
            "private_image_details": {},
            "advance_config": {
                "image_pull_policy": "Always",
                "is_readiness_probe_enabled": False,
                "is_liveness_probe_enabled": False,
                "readiness_probe": {
                    "protocol": "http",
                    "initial_delay_seconds": 10,
                    "success_threshold": 1,
                    "failure_threshold": 3,
                    "port": 8080,
                    "period_seconds": 10,
                    "timeout_seconds": 10,
                    "path": "/health",
                    "grpc_service": "",
                    "commands": "",
                },
                "liveness_probe": {
                    "protocol": "http",
                    "initial_delay_seconds": 10,
                    "success_threshold": 1,
                    "failure_threshold": 3,
                    "port": 8080,
                    "period_seconds": 10,
                    "timeout_seconds": 10,
                    "path": "/metrics",
                    "grpc_service": "",
                    "commands": "",
                },
            },
        },
        "resource_details": {
            "disk_size": 100,
            "mount_path": "",
            "env_variables": [
                {
                    "key": "HF_HOME",
                    "value": "/mnt/models/.cache",
                    "required": True,
                    "disabled": {"key": True, "value": False},
                }
            ],
        },
        "public_ip": "no",
    },
    "model_id": None,
    "replica": 1,
    "committed_replicas": 0,
    "framework": "vllm",
    "is_auto_scale_enabled": False,
    "auto_scale_policy": {
        "min_replicas": 1,
        "max_replicas": 1,
        "rules": [
            {
                "metric": "",
                "condition_type": "limit",
                "value": 100,
                "watch_period": 60,
                "granularity": 1,
                "window": 1,
            }
        ],
        "stability_period": 300,
    },
    "detailed_info": {
        "commands": "",
        "args": "",
        "hugging_face_id": "meta-llama/Llama-3.2-1B-Instruct",
        "tokenizer": "",
        "server_version": "",
        "world_size": 1,
        "error_log": True,
        "info_log": True,
        "warning_log": True,
        "log_verbose_level": 1,
        "model_serve_type": "",
        "engine_args": {},
    },
    "model_load_integration_id": None,
    "dataset_id": None,
    "dataset_path": "",
    "cluster_type": "tir-cluster",
    "sku_id": 162,
    "sku_item_price_id": 755,
}


def request(**overrides: Any) -> dict[str, Any]:
    """A complete create body (the shape TIR's own clients send), top-level fields replaced."""
    body = copy.deepcopy(_BASE)
    body.update(overrides)
    return body


def llamacpp_request(gguf: Path, name: str = "smol-chat", **overrides: Any) -> dict[str, Any]:
    """A CPU-runnable endpoint: llama.cpp over a local GGUF file on the C3.2 plan."""
    body = request(name=name, framework="llamacpp", path=str(gguf), **overrides)
    body.pop("sku_id")
    body.pop("sku_item_price_id")
    body.update(sku_name="C3.2", sku_type="hourly", committed_days=0, currency="INR")
    body["detailed_info"]["hugging_face_id"] = ""
    body["custom_endpoint_details"]["container"]["container_name"] = ""
    return body


def gguf_file(tmp_path: Path) -> Path:
    """A file with a .gguf name: enough for the API, which only plans (never loads) it."""
    path = tmp_path / "tiny-model.gguf"
    path.write_bytes(b"GGUF")
    return path


def set_in(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """`body` with the field at a dotted path ("a.b.0.c") set to `value`."""
    node: Any = body
    keys = dotted.split(".")
    for key in keys[:-1]:
        node = node[int(key)] if isinstance(node, list) else node[key]
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body
