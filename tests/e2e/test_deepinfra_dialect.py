"""A DeepInfra client against a real server: deploy SmolLM2 (llama.cpp on CPU) through
/deepinfra/deploy/llm, chat through /deepinfra/v1/openai with the openai SDK, manage it through
DeepInfra's API, the native API and the CLI, and find hf.token nowhere it must not be."""

from __future__ import annotations

import json
import os
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
    wait_until as _wait,
)

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

MODEL_NAME = "e2e-user/smollm2-chat"
HF_TOKEN = "hf_e2e-deepinfra-NEVER-SHOWN-0123456789"
NO_GPU_MODEL = "e2e-user/needs-h100"


class Client:
    """DeepInfra's management API with the admin token; every response body is kept."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.seen: list[str] = []

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.server.admin_token}"}
        resp = httpx.request(
            method, f"{self.server.base_url}{path}", headers=headers, timeout=30, **kwargs
        )
        self.seen.append(resp.text)
        return resp

    def deployment(self, deploy_id: str) -> dict[str, Any]:
        resp = self.call("GET", f"/deepinfra/deploy/{deploy_id}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **self.server.env,
            "MODELPORT_URL": self.server.base_url,
            "MODELPORT_TOKEN": self.server.admin_token,
        }
        result = subprocess.run(
            [sys.executable, "-m", "modelport.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.seen += [result.stdout, result.stderr]
        return result


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


@pytest.fixture(scope="module")
def di(server: ServerProcess) -> Client:
    return Client(server)


@pytest.fixture(scope="module")
def deployed(di: Client, smollm2_path: Path) -> dict[str, Any]:
    request = {
        "model_name": MODEL_NAME,
        "gpu": "other",  # with a local GGUF: llama.cpp on CPU, no GPU reserved
        "max_batch_size": 4,
        "hf": {"repo": str(smollm2_path), "token": HF_TOKEN},
        "settings": {"min_instances": 1, "max_instances": 1},
    }
    resp = di.call("POST", "/deepinfra/deploy/llm", json=request)
    assert resp.status_code == 200, resp.text
    out = dict(resp.json())
    assert out["status"] in ("initializing", "deploying")
    assert _wait(lambda: di.deployment(out["deploy_id"])["status"] == "running", 180), (
        di.deployment(out["deploy_id"])
    )
    return out


def _native(di: Client, deploy_id: str) -> dict[str, Any]:
    resp = di.call("GET", "/api/v1/endpoints")
    found = [
        e
        for e in resp.json()["items"]
        if e["spec"]["extensions"].get("deepinfra", {}).get("deploy_id") == deploy_id
    ]
    assert len(found) == 1, resp.text
    return dict(found[0])


def _cli_phase(di: Client, name: str) -> str:
    result = di.cli("ls", "--json")
    assert result.returncode == 0, result.stderr
    return str({e["name"]: e for e in json.loads(result.stdout)["items"]}[name]["phase"])


def test_chat_through_the_deepinfra_openai_url_by_model_name_and_deploy_id(
    di: Client, deployed: dict[str, Any]
):
    client = OpenAI(
        base_url=f"{di.server.base_url}/deepinfra/v1/openai", api_key=di.server.admin_token
    )
    for model in (MODEL_NAME, f"deploy_id:{deployed['deploy_id']}"):
        reply = client.chat.completions.create(
            model=model, messages=[{"role": "user", "content": "Say hello"}], max_tokens=12
        )
        assert reply.choices[0].message.content, model
    chunks = client.chat.completions.create(
        model=MODEL_NAME,
        messages=[{"role": "user", "content": "Count to five"}],
        max_tokens=12,
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices).strip()


def test_listed_and_consistent_across_deepinfra_native_and_cli(
    di: Client, deployed: dict[str, Any]
):
    deploy_id = deployed["deploy_id"]
    listed = di.call("GET", "/deepinfra/deploy/list", params={"status": "running"}).json()
    assert [d["deploy_id"] for d in listed] == [deploy_id]
    shown = listed[0]
    assert shown["model_name"] == MODEL_NAME
    assert shown["instances"] == {"running": 1, "pending": 0}
    assert shown["config"]["max_batch_size"] == 4
    native = _native(di, deploy_id)
    name = native["name"]
    assert native["phase"] == "ready"
    assert native["spec"]["framework"] == "llamacpp"
    assert native["spec"]["max_concurrency"] == 4
    assert _cli_phase(di, name) == "ready"
    assert native["spec"]["env"][0]["name"] == "HF_TOKEN"  # stored, encrypted, shown masked
    _assert_token_nowhere(di)

    # Stopped through DeepInfra: "running" while the replica shuts down, then "stopped"; the
    # native API and the CLI agree.
    stopping = di.call("POST", f"/deepinfra/deploy/{deploy_id}/stop").json()
    assert stopping["status"] in ("running", "stopped"), stopping
    assert _wait(lambda: di.deployment(deploy_id)["status"] == "stopped", 60)
    assert _native(di, deploy_id)["phase"] == "stopped"
    assert _cli_phase(di, name) == "stopped"
    assert di.deployment(deploy_id)["instances"] == {"running": 0, "pending": 0}

    # Started through the CLI: DeepInfra sees it running again, and it serves.
    result = di.cli("start", name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _wait(lambda: di.deployment(deploy_id)["status"] == "running", 180)
    assert _native(di, deploy_id)["desired_state"] == "running"
    client = OpenAI(
        base_url=f"{di.server.base_url}/deepinfra/v1/openai", api_key=di.server.admin_token
    )
    reply = client.chat.completions.create(
        model=MODEL_NAME, messages=[{"role": "user", "content": "Hi"}], max_tokens=8
    )
    assert reply.choices[0].message.content is not None


def test_a_gpu_this_host_lacks_stays_initializing_with_a_reason(di: Client):
    request = {"model_name": NO_GPU_MODEL, "gpu": "H100-80GB", "hf": {"repo": "org/model"}}
    resp = di.call("POST", "/deepinfra/deploy/llm", json=request)
    assert resp.status_code == 200, resp.text
    deploy_id = resp.json()["deploy_id"]

    def waiting() -> bool:
        out = di.deployment(deploy_id)
        return out["status"] == "initializing" and out["fail_reason"] != ""

    assert _wait(waiting, 30), di.deployment(deploy_id)
    out = di.deployment(deploy_id)
    assert out["fail_reason"].startswith("InsufficientCapacity:")
    assert "H100-80GB" in out["fail_reason"]
    assert out["instances"] == {"running": 0, "pending": 1}
    assert _native(di, deploy_id)["phase"] == "pending"
    assert di.call("DELETE", f"/deepinfra/deploy/{deploy_id}").json()["status"] == "deleted"
    gone = lambda: di.call("GET", f"/deepinfra/deploy/{deploy_id}").status_code == 404  # noqa: E731
    assert _wait(gone, 30)


def test_delete_tears_down_and_the_token_is_nowhere(
    di: Client, deployed: dict[str, Any], server: ServerProcess
):
    deploy_id = deployed["deploy_id"]
    assert di.call("DELETE", f"/deepinfra/deploy/{deploy_id}").json()["status"] == "deleted"
    assert _wait(lambda: di.call("GET", f"/deepinfra/deploy/{deploy_id}").status_code == 404, 60)
    assert di.call("GET", "/deepinfra/deploy/list").json() == []
    client = OpenAI(
        base_url=f"{server.base_url}/deepinfra/v1/openai",
        api_key=server.admin_token,
        max_retries=0,
    )
    with pytest.raises(Exception) as failed:
        client.chat.completions.create(
            model=MODEL_NAME, messages=[{"role": "user", "content": "x"}], max_tokens=4
        )
    assert getattr(failed.value, "status_code", None) == 404

    _assert_token_nowhere(di)


def _assert_token_nowhere(di: Client) -> None:
    """Not in any response or CLI output, any log under the server's home, the database files."""
    assert di.seen and all(HF_TOKEN not in text for text in di.seen)
    files = [p for p in di.server.home.rglob("*") if p.is_file()]
    logs = [p for p in files if p.suffix == ".log"]
    databases = [p for p in files if p.name.startswith("modelport.db")]  # with -wal, -shm
    assert len(logs) >= 2, files  # the server's and the replica's
    assert databases and os.path.getsize(databases[0]) > 0
    for path in logs + databases:
        assert HF_TOKEN.encode() not in path.read_bytes(), path
