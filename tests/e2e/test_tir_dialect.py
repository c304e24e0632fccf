"""A TIR client against a real server.

Create SmolLM2 (llama.cpp on CPU) through /tir/serving/inference/, chat through TIR's inference
URL, drive every PUT action of seed 004, check the endpoint through the native API and the CLI,
and find the secret env value nowhere it must not be.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.support.server import (
    ServerProcess,
    running_server,
)
from tests.support.server import (
    pid_alive as _alive,
)
from tests.support.server import (
    wait_until as _wait,
)

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(900)]

TIR_NAME = "SmolLM2 Chat"
NAME = "smollm2-chat"  # the endpoint name TIR_NAME becomes
SECRET = "hf_e2e-tir-NEVER-SHOWN-9876543210"


class Tir:
    """TIR's management API with the admin token; every response body is kept."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.seen: list[str] = []
        with server.api() as api:
            self.project_id = int(api.get("/api/v1/whoami").json()["project_id"])

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.server.admin_token}"}
        params = {"project_id": self.project_id, "location": "Delhi", "active_iam": 1}
        resp = httpx.request(
            method,
            f"{self.server.base_url}/tir{path}",
            headers=headers,
            params=params,
            timeout=30,
            **kwargs,
        )
        self.seen.append(resp.text)
        return resp

    def get(self, inference_id: int) -> dict[str, Any]:
        resp = self.call("GET", f"/serving/inference/{inference_id}/")
        assert resp.status_code == 200, resp.text
        return dict(resp.json()["data"])

    def act(self, inference_id: int, body: dict[str, Any]) -> str:
        resp = self.call("PUT", f"/serving/inference/{inference_id}/", json=body)
        assert resp.status_code == 200, resp.text
        assert resp.json()["message"] == "Success"
        return str(resp.json()["data"])

    def native(self, path: str = "") -> dict[str, Any]:
        with self.server.api() as api:
            resp = api.get(f"/api/v1/endpoints/{NAME}{path}")
        self.seen.append(resp.text)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def pids(self) -> set[int]:
        return {r["handle"]["pid"] for r in self.live_replicas()}

    def live_replicas(self) -> list[dict[str, Any]]:
        items = self.native("/replicas")["items"]
        return [r for r in items if r["state"] != "stopped" and r.get("handle")]

    def running(self, inference_id: int, generation: int | None = None) -> bool:
        data = self.get(inference_id)
        replicas = self.live_replicas()
        return (
            data["status"] == "Running"
            and data["phase"] == "ready"
            and len(replicas) == 1
            and all(r["state"] == "ready" for r in replicas)
            and (generation is None or data["generation"] == generation)
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


@pytest.fixture(scope="module")
def tir(server: ServerProcess) -> Tir:
    return Tir(server)


@pytest.fixture(scope="module")
def created(tir: Tir, smollm2_path: Path) -> dict[str, Any]:
    """Created with TIR's full request shape: llama.cpp over the GGUF, the C3.2 CPU plan."""
    body = {
        "name": TIR_NAME,
        "path": str(smollm2_path),
        "framework": "llamacpp",
        "custom_endpoint_details": {
            "container": {"container_name": "", "container_type": "public"},
            "resource_details": {
                "disk_size": 10,
                "env_variables": [
                    {"key": "HF_TOKEN", "value": SECRET, "required": True},
                    {"key": "GREETING", "value": "hello"},
                ],
            },
        },
        "replica": 1,
        "is_auto_scale_enabled": False,
        "auto_scale_policy": {"min_replicas": 1, "max_replicas": 1, "rules": []},
        "detailed_info": {"engine_args": {"n_ctx": 2048}},
        "model_load_integration_id": None,
        "cluster_type": "tir-cluster",
        "sku_id": 101,
        "sku_item_price_id": 1001,
    }
    resp = tir.call("POST", "/serving/inference/", json=body)
    assert resp.status_code == 201, resp.text
    data = dict(resp.json()["data"])
    assert data["status"] == "Waiting"
    assert _wait(lambda: tir.running(data["id"]), 180), (tir.get(data["id"]), tir.live_replicas())
    return data


def test_create_and_chat_through_the_tir_inference_url(
    tir: Tir, created: dict[str, Any], server: ServerProcess
) -> None:
    url = created["inference_url"]
    assert url == f"{server.base_url}/tir/project/p-{tir.project_id}/endpoint/is-{created['id']}/"
    for key in (server.admin_token, created["api_key"]):
        client = OpenAI(base_url=f"{url}v1", api_key=key, max_retries=0)
        reply = client.chat.completions.create(
            model=NAME, messages=[{"role": "user", "content": "Say hello"}], max_tokens=12
        )
        assert reply.choices[0].message.content
    # The engine got the secret, decrypted; nothing else did (see the last test).
    pid = next(iter(tir.pids()))
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert f"HF_TOKEN={SECRET}".encode() in environ


def test_listed_and_consistent_in_native_api_and_cli(
    tir: Tir, created: dict[str, Any], server: ServerProcess
) -> None:
    resp = tir.call("GET", "/serving/inference/")
    assert [e["id"] for e in resp.json()["data"]] == [created["id"]]
    native = tir.native()
    assert native["id"] == created["id"]
    assert native["spec"]["framework"] == "llamacpp"
    assert native["spec"]["resources"]["cpu"] == 2  # the C3.2 plan
    assert native["spec"]["extensions"]["tir"]["request"]["name"] == TIR_NAME
    env = {
        **server.env,
        "MODELPORT_URL": server.base_url,
        "MODELPORT_TOKEN": server.admin_token,
    }
    result = subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", "ls", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    tir.seen += [result.stdout, result.stderr]
    assert result.returncode == 0, result.stderr
    listed = {e["name"]: e for e in json.loads(result.stdout)["items"]}
    assert listed[NAME]["id"] == created["id"]


def test_stop_stops_the_replicas_and_start_brings_them_back(
    tir: Tir, created: dict[str, Any]
) -> None:
    ep = created["id"]
    before = tir.pids()
    assert tir.act(ep, {"action": "stop"}) == "Model Endpoint stopped successfully"
    assert _wait(lambda: tir.get(ep)["status"] == "Stopped", 60), tir.get(ep)
    assert tir.live_replicas() == []
    assert not any(_alive(pid) for pid in before)
    assert tir.native()["desired_state"] == "stopped"
    assert tir.act(ep, {"action": "start"}) == "Model Endpoint started successfully"
    assert _wait(lambda: tir.running(ep), 120), tir.get(ep)


def test_restart_replaces_the_replicas(tir: Tir, created: dict[str, Any]) -> None:
    ep = created["id"]
    before, generation = tir.pids(), tir.get(ep)["generation"]
    assert tir.act(ep, {"action": "restart"}) == "Model Endpoint restarted successfully"
    assert _wait(lambda: tir.running(ep, generation + 1) and not before & tir.pids(), 120)


def test_patch_bumps_the_generation_and_rolls_the_replicas(
    tir: Tir, created: dict[str, Any]
) -> None:
    ep = created["id"]
    before, generation = tir.pids(), tir.get(ep)["generation"]
    body = {"action": "patch", "detailed_info": {"engine_args": {"n_ctx": 1024}}}
    assert tir.act(ep, body) == "Model Endpoint updated successfully"
    assert _wait(lambda: tir.running(ep, generation + 1) and not before & tir.pids(), 120)
    assert tir.native()["spec"]["engine_args"] == {"n_ctx": 1024}
    assert tir.get(ep)["detailed_info"]["engine_args"] == {"n_ctx": 1024}


def test_autoscale_and_async_settings_show_in_both_apis(tir: Tir, created: dict[str, Any]) -> None:
    ep = created["id"]
    policy = {
        "min_replicas": 1,
        "max_replicas": 1,
        "stability_period": 60,
        "rules": [{"metric": "concurrency", "condition_type": "limit", "value": 4}],
    }
    body = {
        "action": "update_auto_scale",
        "is_auto_scale_enabled": True,
        "auto_scale_policy": policy,
    }
    assert "auto scale" in tir.act(ep, body)
    with tir.server.api() as api:  # async results land in a dataset that must exist
        made = api.post("/api/v1/datasets", json={"name": "tir-results"})
    assert made.status_code == 201, made.text
    dataset_id = made.json()["id"]
    async_body = {
        "action": "update_async_configuration",
        "async_enabled": True,
        "async_concurrent_workers": 2,
        "async_dataset_id": dataset_id,
        "async_destination_type": "dataset",
        "async_target_routes": [{"route_name": "chat", "route_value": "/v1/chat/completions"}],
    }
    assert "async" in tir.act(ep, async_body)
    data = tir.get(ep)
    assert data["is_auto_scale_enabled"] is True
    assert data["auto_scale_policy"]["rules"][0]["metric"] == "concurrency"
    assert data["async_configuration"]["async_enabled"] is True
    assert data["async_configuration"]["async_dataset_id"] == dataset_id
    spec = tir.native()["spec"]
    assert spec["autoscale"]["enabled"] is True
    assert spec["autoscale"]["rules"][0] == {
        "metric": "concurrency",
        "value": 4.0,
        "custom_metric_name": None,
        "condition_type": "limit",
        "window_seconds": 1.0,
        "watch_period_seconds": 60.0,
        "granularity_seconds": 1.0,
    }
    assert spec["async_config"]["enabled"] is True
    assert spec["async_config"]["concurrent_workers"] == 2
    assert _wait(lambda: tir.running(ep), 120), tir.get(ep)  # still serving afterwards


def test_the_secret_is_in_no_answer_log_or_plaintext_column(
    tir: Tir, created: dict[str, Any], server: ServerProcess
) -> None:
    tir.get(created["id"])
    tir.call("GET", "/serving/inference/")
    assert tir.seen, "answers were collected"
    for text in tir.seen:
        assert SECRET not in text
    shown = tir.get(created["id"])["custom_endpoint_details"]["resource_details"]
    token = next(e for e in shown["env_variables"] if e["key"] == "HF_TOKEN")
    assert (token["value"], token["secret"]) == ("********", True)
    for path in server.home.rglob("*"):
        if path.is_file() and not path.name.startswith("modelport.db"):
            assert SECRET.encode() not in path.read_bytes(), path
    with sqlite3.connect(server.home / "modelport.db") as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f'SELECT * FROM "{table}"'):
                assert SECRET not in repr(row), table


def test_delete_removes_the_endpoint(tir: Tir, created: dict[str, Any]) -> None:
    ep = created["id"]
    pids = tir.pids()
    resp = tir.call("DELETE", f"/serving/inference/{ep}/")
    assert resp.status_code == 200, resp.text

    def gone() -> bool:
        return tir.call("GET", f"/serving/inference/{ep}/").status_code == 404

    assert _wait(gone, 60)
    assert not any(_alive(pid) for pid in pids)
