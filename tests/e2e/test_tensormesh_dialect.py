"""A Tensormesh client, end to end: a real server, models deployed through /tensormesh on real
llama.cpp replicas serving SmolLM2, completions through the official openai SDK at the model's
`endpoint` with its `apiKey`, the same models controlled by the native API and the CLI, and
secrets kept out of every answer, log and the database."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import NotFoundError, OpenAI

from tests.support.server import (
    ServerProcess,
    kill_process_groups,
)
from tests.support.server import (
    wait_until as _wait,
)

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

USER_ID = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b"
API_KEY = "tm-e2e-key-0123456789abcdef"
HF_TOKEN = "hf_e2eNeverLeaks0123456789abcd"
CHAT = "smol-chat"
OTHER = "smol-other"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("mp-home"))
    srv.start()
    try:
        yield srv
    finally:
        pids = _replica_pids(srv) if srv.proc and srv.proc.poll() is None else []
        for name in (CHAT, OTHER):
            with srv.api() as api:
                api.delete(f"/api/v1/endpoints/{name}")
        _wait(lambda: not _replica_pids(srv), timeout=60)
        srv.stop()
        kill_process_groups(pids)


def _replica_pids(srv: ServerProcess) -> list[int]:
    pids = []
    for name in (CHAT, OTHER):
        with srv.api() as api:
            resp = api.get(f"/api/v1/endpoints/{name}/replicas")
        if resp.status_code == 200:
            pids += [r["handle"]["pid"] for r in resp.json()["items"] if r.get("handle")]
    return pids


def _tm(srv: ServerProcess) -> httpx.Client:
    return httpx.Client(
        base_url=f"{srv.base_url}/tensormesh/v1",
        headers={"Authorization": f"Bearer {srv.admin_token}"},
        timeout=30,
    )


def _model(srv: ServerProcess, model_id: str) -> dict[str, Any]:
    with _tm(srv) as tm:
        resp = tm.get(f"/models/{model_id}")
    resp.raise_for_status()
    model: dict[str, Any] = resp.json()["model"]
    return model


def _status(srv: ServerProcess, model_id: str) -> str:
    return str(_model(srv, model_id)["status"])


def _cli(srv: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MODELPORT_URL": srv.base_url, "MODELPORT_TOKEN": srv.admin_token}
    env.pop("MODELPORT_HOME", None)
    return subprocess.run(
        [sys.executable, "-m", "modelport.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _deploy(srv: ServerProcess, gguf: Path, name: str, **fields: Any) -> dict[str, Any]:
    request = {
        "modelName": name,
        "userId": USER_ID,
        "description": "SmolLM2 on llama.cpp",
        "modelPath": str(gguf),
        "gpuCount": 0,
        "gpuType": "GPU_TYPE_UNSPECIFIED",
        "kvCacheEnabled": True,
        **fields,
    }
    with _tm(srv) as tm:
        resp = tm.post("/models", json=request)
    assert resp.status_code == 200, resp.text
    assert HF_TOKEN not in resp.text
    model: dict[str, Any] = resp.json()["model"]
    return model


@pytest.fixture(scope="module")
def models(server: ServerProcess, smollm2_path: Path) -> dict[str, dict[str, Any]]:
    chat = _deploy(
        server, smollm2_path, CHAT, apiKey=API_KEY, hfToken=HF_TOKEN, cpuOffloadingEnabled=True
    )
    other = _deploy(server, smollm2_path, OTHER)
    for model in (chat, other):
        assert _wait(lambda m=model: _status(server, m["modelId"]) == "MODEL_STATUS_UP", 180), (
            _model(server, model["modelId"])
        )
    return {CHAT: chat, OTHER: other}


def test_deploy_answers_in_tensormesh_shape_with_the_key_once(
    server: ServerProcess, models: dict[str, dict[str, Any]]
):
    chat = models[CHAT]
    assert chat["apiKey"] == API_KEY and models[OTHER]["apiKey"].startswith("mp_")
    assert chat["endpoint"] == f"{server.base_url}/tensormesh/openai"  # the inference base
    assert (chat["modelName"], chat["userId"], chat["gpuCount"]) == (CHAT, USER_ID, 0)
    shown = _model(server, chat["modelId"])
    assert shown["apiKey"] == "" and shown["status"] == "MODEL_STATUS_UP"
    logs = [e["log"] for e in shown["events"]]
    assert any(log.startswith("ReplicaReady: ") for log in logs)
    assert any(log.startswith("OptionUnsupported: cpuOffloadingEnabled") for log in logs)


def test_openai_sdk_completes_at_the_endpoint_with_the_api_key(
    server: ServerProcess, models: dict[str, dict[str, Any]]
):
    client = OpenAI(base_url=f"{models[CHAT]['endpoint']}/v1", api_key=API_KEY, max_retries=0)
    reply = client.chat.completions.create(
        model=CHAT, messages=[{"role": "user", "content": "Say hello"}], max_tokens=16
    )
    assert reply.choices[0].message.content
    completion = client.completions.create(model=CHAT, prompt="Once upon a time", max_tokens=8)
    assert completion.choices[0].text
    assert [m.id for m in client.models.list().data] == [CHAT]  # the key sees its model only


def test_the_api_key_is_refused_for_any_other_endpoint(
    server: ServerProcess, models: dict[str, dict[str, Any]]
):
    other = models[OTHER]
    body = {"model": OTHER, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    own = httpx.post(
        f"{server.base_url}/endpoints/{other['deploymentId']}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {other['apiKey']}"},
        timeout=60,
    )
    assert own.status_code == 200, own.text  # the other model serves, with its own key
    refused = httpx.post(
        f"{server.base_url}/endpoints/{other['deploymentId']}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=60,
    )
    assert refused.status_code in (401, 404), refused.text
    client = OpenAI(base_url=f"{models[CHAT]['endpoint']}/v1", api_key=API_KEY, max_retries=0)
    with pytest.raises(NotFoundError):
        client.chat.completions.create(model=OTHER, messages=[{"role": "user", "content": "hi"}])
    with httpx.Client(headers={"Authorization": f"Bearer {API_KEY}"}) as keyed:
        mgmt = keyed.get(f"{server.base_url}/tensormesh/v1/models/{other['modelId']}")
        assert mgmt.status_code == 404 and mgmt.json()["code"] == 5
        delete = keyed.delete(f"{server.base_url}/tensormesh/v1/models/{models[CHAT]['modelId']}")
        assert delete.status_code == 403 and delete.json()["code"] == 7


def test_native_api_and_cli_see_and_control_the_same_models(
    server: ServerProcess, models: dict[str, dict[str, Any]]
):
    listed = _cli(server, "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    phases = {e["name"]: e["phase"] for e in json.loads(listed.stdout)["items"]}
    assert phases[models[CHAT]["deploymentId"]] == "ready"
    assert phases[models[OTHER]["deploymentId"]] == "ready"

    stopped = _cli(server, "stop", models[OTHER]["deploymentId"])
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    other_id = models[OTHER]["modelId"]
    assert _wait(lambda: _status(server, other_id) == "MODEL_STATUS_STOPPED", 60)
    with server.api() as api:
        assert api.get(f"/api/v1/endpoints/{OTHER}").json()["phase"] == "stopped"
    assert _status(server, models[CHAT]["modelId"]) == "MODEL_STATUS_UP"


def test_the_hf_token_is_in_no_answer_log_or_database_row(
    server: ServerProcess, models: dict[str, dict[str, Any]]
):
    chat = models[CHAT]
    with _tm(server) as tm, server.api() as api:
        answers = [
            tm.get(f"/models/{chat['modelId']}").text,
            tm.get("/models").text,
            api.get(f"/api/v1/endpoints/{CHAT}").text,
            api.get(f"/api/v1/endpoints/{CHAT}/events").text,
            api.get(f"/api/v1/endpoints/{CHAT}/logs").text,
            api.get("/api/v1/endpoints").text,
        ]
    for answer in answers:
        assert HF_TOKEN not in answer and API_KEY not in answer
    database = server.home / "modelport.db"
    files = [p for p in server.home.rglob("*") if p.is_file() and p.name != "secret.key"]
    assert any(p.suffix == ".log" for p in files) and database in files
    for path in files:  # logs, the SQLite file and its WAL, byte for byte
        raw = path.read_bytes()
        assert HF_TOKEN.encode() not in raw and API_KEY.encode() not in raw, path
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        dump = "\n".join(db.iterdump())
    assert HF_TOKEN not in dump and API_KEY not in dump
    assert '"modelName":"smol-chat"' in dump.replace(" ", "")  # the row is there, sealed


def test_delete_through_tensormesh_removes_the_model(
    server: ServerProcess, models: dict[str, dict[str, Any]]
):
    chat = models[CHAT]
    with _tm(server) as tm:
        resp = tm.delete(f"/models/{chat['modelId']}")
        assert (resp.status_code, resp.json()) == (200, {})  # as Tensormesh answers a delete
        shown = tm.get(f"/models/{chat['modelId']}")  # deleting, or already gone
        assert shown.status_code == 404 or shown.json()["model"]["status"] == (
            "MODEL_STATUS_DELETING"
        )
        assert _wait(lambda: tm.get(f"/models/{chat['modelId']}").status_code == 404, 60)
    client = OpenAI(base_url=f"{chat['endpoint']}/v1", api_key=API_KEY, max_retries=0)
    with pytest.raises(Exception) as refused:  # its key went with it
        client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "hi"}])
    assert getattr(refused.value, "status_code", None) in (401, 404)
