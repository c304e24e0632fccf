"""Scale-to-zero set through TIR and DeepInfra against a real server with llama.cpp replicas.

Each dialect sets autoscaling with min 0 in its own shape (TIR's update_auto_scale, DeepInfra's
settings); the idle timeout, which neither vendor can say, is set with `modelport autoscale`.
The endpoint goes to zero replicas after it, then a chat through that dialect's inference URL
is held while one replica starts and is answered. The native status lists both decisions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.support.server import ServerProcess, running_server, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

IDLE_TIMEOUT = "2"
RULE = {"metric": "concurrency", "condition_type": "limit", "value": 8, "window": 2}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


def call(srv: ServerProcess, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {srv.admin_token}"}
    return httpx.request(method, f"{srv.base_url}{path}", headers=headers, timeout=30, **kwargs)


def cli_autoscale(srv: ServerProcess, name: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelport.cli.main",
            "--url",
            srv.base_url,
            "--token",
            srv.admin_token,
            "autoscale",
            name,
            *args,
            "--json",
        ],
        env=srv.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    status: dict[str, Any] = json.loads(done.stdout)
    return status


def live_replicas(srv: ServerProcess, name: str) -> list[dict[str, Any]]:
    items = call(srv, "GET", f"/api/v1/endpoints/{name}/replicas").json()["items"]
    return [r for r in items if r["state"] != "stopped"]


def ready_count(srv: ServerProcess, name: str) -> int:
    return sum(r["state"] == "ready" for r in live_replicas(srv, name))


def chat(base_url: str, key: str, model: str) -> str:
    client = OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=180)
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Say hi"}], max_tokens=8
    )
    return reply.choices[0].message.content or ""


def assert_idle_then_woken(status: dict[str, Any]) -> None:
    reasons = [d["reason"] for d in status["decisions"]]
    assert "idle" in reasons and "wake" in reasons, status["decisions"]
    idle = max(i for i, r in enumerate(reasons) if r == "idle")
    assert "wake" in reasons[idle:], status["decisions"]
    assert status["decisions"][idle]["to_replicas"] == 0


def test_tir_update_auto_scale_idles_to_zero_and_a_chat_wakes_it(
    server: ServerProcess, smollm2_path: Path
) -> None:
    project = call(server, "GET", "/api/v1/whoami").json()["project_id"]
    params = {"project_id": project, "location": "Delhi"}
    body = {
        "name": "smol-tir-idle",
        "path": str(smollm2_path),
        "framework": "llamacpp",
        "custom_endpoint_details": {"resource_details": {"disk_size": 10}},
        "replica": 1,
        "is_auto_scale_enabled": False,
        "detailed_info": {"engine_args": {"n_ctx": 512}},
        "sku_name": "C3.2",
        "sku_type": "hourly",
    }
    created = call(server, "POST", "/tir/serving/inference/", params=params, json=body)
    assert created.status_code == 201, created.text
    data = created.json()["data"]
    name, inference_id = data["endpoint_name"], data["id"]
    path = f"/tir/serving/inference/{inference_id}/"
    assert wait_until(lambda: ready_count(server, name) == 1, timeout=180)

    cli_autoscale(server, name, "--idle-timeout", IDLE_TIMEOUT)  # TIR has no such field
    policy = {"min_replicas": 0, "max_replicas": 2, "stability_period": 5, "rules": [RULE]}
    put = call(
        server,
        "PUT",
        path,
        params=params,
        json={"action": "update_auto_scale", "auto_scale_policy": policy},
    )
    assert put.status_code == 200, put.text

    def tir_status() -> str:
        return str(call(server, "GET", path, params=params).json()["data"]["status"])

    assert wait_until(lambda: not live_replicas(server, name), timeout=120), live_replicas(
        server, name
    )
    assert tir_status() == "Idle"
    echoed = call(server, "GET", path, params=params).json()["data"]
    assert echoed["is_auto_scale_enabled"] is True
    assert echoed["auto_scale_policy"]["min_replicas"] == 0

    url = f"{data['inference_url']}v1"
    assert chat(url, server.admin_token, name)
    assert ready_count(server, name) == 1
    assert wait_until(lambda: tir_status() == "Running", timeout=30)
    assert_idle_then_woken(cli_autoscale(server, name))


def test_deepinfra_min_instances_zero_idles_and_a_chat_wakes_it(
    server: ServerProcess, smollm2_path: Path
) -> None:
    request = {
        "model_name": "acme/smol-idle",
        "gpu": "other",  # a local GGUF: llama.cpp on CPU
        "max_batch_size": 4,
        "hf": {"repo": str(smollm2_path)},
        "settings": {"min_instances": 1, "max_instances": 1},
    }
    resp = call(server, "POST", "/deepinfra/deploy/llm", json=request)
    assert resp.status_code == 200, resp.text
    deploy_id = resp.json()["deploy_id"]
    name = next(
        e["name"]
        for e in call(server, "GET", "/api/v1/endpoints").json()["items"]
        if e["spec"]["extensions"].get("deepinfra", {}).get("deploy_id") == deploy_id
    )
    assert wait_until(lambda: ready_count(server, name) == 1, timeout=180)

    cli_autoscale(server, name, "--idle-timeout", IDLE_TIMEOUT)
    put = call(
        server, "PUT", f"/deepinfra/deploy/{deploy_id}", json={"settings": {"min_instances": 0}}
    )
    assert put.status_code == 200, put.text
    assert put.json()["settings"] == {"min_instances": 0, "max_instances": 1}

    def instances() -> dict[str, int]:
        found: dict[str, int] = call(server, "GET", f"/deepinfra/deploy/{deploy_id}").json()[
            "instances"
        ]
        return found

    assert wait_until(lambda: not live_replicas(server, name), timeout=120)
    assert instances()["running"] == 0

    answer = chat(f"{server.base_url}/deepinfra/v1/openai", server.admin_token, "acme/smol-idle")
    assert answer
    assert instances()["running"] == 1
    status = cli_autoscale(server, name)
    assert status["policy"]["rules"][0]["value"] == 4  # max_batch_size per instance
    assert_idle_then_woken(status)
