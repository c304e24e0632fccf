"""Hugging Face sources end to end: a real `modelport server` whose MODELPORT_HF_ENDPOINT is a
local server speaking the Hub's file API (tests/support/hub.py), serving the SmolLM2 GGUF as a
private repo, and real llama.cpp replicas loading what was downloaded."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.hub import HUB_TOKEN, SMOLLM2_FILE, SMOLLM2_REPO, HubRepo, LocalHub, local_hub
from tests.support.server import ServerProcess, serving, wait_until

# The host claims one GPU (a stand-in nvidia-smi on the server's PATH) so that the DeepInfra
# deploy, which always reserves one, is launched and reaches the point of fetching its weights.
_NVIDIA_SMI = "#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 81559'\n"


@pytest.fixture(scope="module")
def hub(smollm2_path: Path) -> Iterator[LocalHub]:
    with local_hub(HubRepo(SMOLLM2_REPO, {SMOLLM2_FILE: smollm2_path})) as running:
        yield running


@pytest.fixture(scope="module")
def server(hub: LocalHub) -> Iterator[ServerProcess]:
    parent = Path(tempfile.mkdtemp(prefix="mp-hf-"))
    parent.chmod(0o755)  # replicas may run as other users: they read the cache below
    bin_dir = parent / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text(_NVIDIA_SMI)
    (bin_dir / "nvidia-smi").chmod(0o755)
    env = {
        "MODELPORT_HF_ENDPOINT": hub.url,
        "MODELPORT_MODEL_CACHE": str(parent / "cache"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }
    (parent / "home").mkdir()
    try:
        with serving(ServerProcess(parent / "home", extra_env=env)) as srv:
            yield srv
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def create(
    srv: ServerProcess, name: str, model: dict[str, str], token: str, replicas: int = 1
) -> None:
    spec = {
        "framework": "llamacpp",
        "model": model,
        "replicas": replicas,
        "env": [{"name": "HF_TOKEN", "value": token}],
    }
    with srv.api() as api:
        resp = api.post("/api/v1/endpoints", json={"name": name, "spec": spec})
    assert resp.status_code == 201, resp.text


def replicas(srv: ServerProcess, name: str) -> list[dict[str, Any]]:
    with srv.api() as api:
        items: list[dict[str, Any]] = api.get(f"/api/v1/endpoints/{name}/replicas").json()["items"]
    return items


def events(srv: ServerProcess, name: str) -> list[dict[str, Any]]:
    with srv.api() as api:
        items: list[dict[str, Any]] = api.get(f"/api/v1/endpoints/{name}/events").json()["items"]
    return items


def ready(srv: ServerProcess, name: str) -> Callable[[], bool]:
    return lambda: any(r["state"] == "ready" for r in replicas(srv, name))


def delete(srv: ServerProcess, name: str) -> None:
    with srv.api() as api:
        api.delete(f"/api/v1/endpoints/{name}")


def test_an_hf_endpoint_downloads_once_reaches_ready_and_answers(
    server: ServerProcess, hub: LocalHub
) -> None:
    create(server, "hf-chat", {"hf_id": SMOLLM2_REPO, "path": SMOLLM2_FILE}, HUB_TOKEN)
    assert wait_until(ready(server, "hf-chat"), timeout=120), replicas(server, "hf-chat")
    reasons = [e["reason"] for e in events(server, "hf-chat")]
    assert "ModelDownloading" in reasons and "ModelReady" in reasons, reasons
    assert hub.downloads(SMOLLM2_REPO) == 1
    assert {r.token for r in hub.seen(SMOLLM2_REPO)} == {HUB_TOKEN}

    body = {"model": "hf-chat", "messages": [{"role": "user", "content": "Say hi"}]}
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    answer = httpx.post(
        f"{server.base_url}/v1/chat/completions", json=body, headers=headers, timeout=60
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"]

    # A second endpoint on the same files downloads nothing.
    create(server, "hf-again", {"hf_id": SMOLLM2_REPO, "path": SMOLLM2_FILE}, HUB_TOKEN)
    assert wait_until(ready(server, "hf-again"), timeout=120), replicas(server, "hf-again")
    assert hub.downloads(SMOLLM2_REPO) == 1
    for name in ("hf-chat", "hf-again"):
        delete(server, name)


@pytest.mark.parametrize(
    ("name", "repo", "token", "says"),
    [
        ("hf-missing", "org/no-such-model", HUB_TOKEN, "not found"),
        ("hf-bad-token", SMOLLM2_REPO, "hf_wrong", "refused the token"),
    ],
)
def test_an_unfetchable_model_fails_clearly_without_a_hot_loop(
    server: ServerProcess, hub: LocalHub, name: str, repo: str, token: str, says: str
) -> None:
    def asked() -> int:
        return sum(1 for r in hub.seen(repo) if r.token == token)

    before = asked()
    create(server, name, {"hf_id": repo, "path": SMOLLM2_FILE}, token)

    def failed() -> bool:
        return any(e["reason"] == "ModelUnavailable" for e in events(server, name))

    assert wait_until(failed, timeout=30), events(server, name)
    began = time.monotonic()
    message = next(e["message"] for e in events(server, name) if e["reason"] == "ModelUnavailable")
    assert says in message and repo in message, message
    listed = server.cli("get", name)
    assert "ModelUnavailable" in listed.stdout or "failed" in listed.stdout.lower(), listed.stdout
    time.sleep(max(0.0, 10 - (time.monotonic() - began)))  # watch ~10 s of retries
    assert 1 <= asked() - before <= 6, asked() - before  # backoff, not one per tick
    delete(server, name)


@pytest.mark.parametrize(
    ("path", "request_body", "token"),
    [
        (
            "/deepinfra/deploy/llm",
            {"model_name": "e2e-user/di-hf", "gpu": "other", "hf": {"repo": SMOLLM2_REPO}},
            "hf_deepinfra_token",
        ),
        (
            "/tensormesh/v1/models",
            {
                "modelName": "tm-hf",
                "userId": "8d6f8a63-3c4e-4d5b-9a55-0b7c6d0e1f2a",
                "modelPath": SMOLLM2_REPO,
                "gpuCount": 0,
                "gpuType": "GPU_TYPE_UNSPECIFIED",
            },
            "hf_tensormesh_token",
        ),
    ],
)
def test_a_dialects_hf_token_reaches_the_hub(
    server: ServerProcess, hub: LocalHub, path: str, request_body: dict[str, Any], token: str
) -> None:
    if path.startswith("/deepinfra"):
        request_body["hf"]["token"] = token
    else:
        request_body["hfToken"] = token
    with server.api() as api:
        resp = api.post(path, json=request_body)
        assert resp.status_code == 200, resp.text
    assert wait_until(lambda: any(r.token == token for r in hub.seen(SMOLLM2_REPO)), 30)
    with server.api() as api:
        for endpoint in api.get("/api/v1/endpoints").json()["items"]:
            if "di-hf" in endpoint["name"] or "tm-hf" in endpoint["name"]:
                api.delete(f"/api/v1/endpoints/{endpoint['name']}")
