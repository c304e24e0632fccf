"""The core promise, end to end: a real server, the CLI, two real llama.cpp replicas, the openai
SDK, and faults (a replica killed, a patch, a server restart) that lose no request."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from tests.support.server import (
    ServerProcess,
    kill_process_groups,
)
from tests.support.server import (
    pid_alive as _alive,
)
from tests.support.server import (
    wait_until as _wait,
)
from tests.support.traffic import SteadyTraffic

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(900)]

NAME = "smollm2"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("mp-home")
    srv = ServerProcess(home)
    srv.start()
    try:
        yield srv
    finally:
        pids = _replica_pids(srv) if srv.proc and srv.proc.poll() is None else []
        if pids:
            with srv.api() as api:
                api.delete(f"/api/v1/endpoints/{NAME}")
            _wait(lambda: not _replica_pids(srv), timeout=60)
        srv.stop()
        kill_process_groups(pids)


def _replicas(srv: ServerProcess) -> list[dict]:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{NAME}/replicas")
    if resp.status_code == 404:
        return []
    resp.raise_for_status()
    return list(resp.json()["items"])


def _replica_pids(srv: ServerProcess) -> list[int]:
    return [r["handle"]["pid"] for r in _replicas(srv) if r.get("handle") and r["handle"]["pid"]]


def _endpoint(srv: ServerProcess) -> dict:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{NAME}")
    resp.raise_for_status()
    return dict(resp.json())


def _all_ready(srv: ServerProcess, generation: int | None = None) -> bool:
    ep = _endpoint(srv)
    reps = _replicas(srv)
    gen = generation or ep["template_generation"]
    return (
        ep["phase"] == "ready"
        and len(reps) == 2
        and all(r["state"] == "ready" and r["generation"] == gen for r in reps)
    )


def test_deploy_with_cli_and_chat_through_gateway(server: ServerProcess, smollm2_path: Path):
    result = server.cli(
        "deploy", NAME, "--framework", "llamacpp", "--model", str(smollm2_path),
        "--replicas", "2", "--engine-arg", "n_ctx=2048", "--timeout", "240",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{server.base_url}/endpoints/{NAME}/v1" in result.stdout
    assert _wait(lambda: _all_ready(server), timeout=120), _replicas(server)

    client = OpenAI(base_url=f"{server.base_url}/endpoints/{NAME}/v1", api_key=server.admin_token)
    reply = client.chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": "Say hello"}], max_tokens=16
    )
    assert reply.choices[0].message.content

    chunks = client.chat.completions.create(
        model=NAME,
        messages=[{"role": "user", "content": "Count to five"}],
        max_tokens=16,
        stream=True,
    )
    pieces = [c.choices[0].delta.content or "" for c in chunks if c.choices]
    assert len(pieces) > 1, "a streamed reply arrives in several chunks"
    assert "".join(pieces).strip()

    # The same endpoint through the OpenAI-style root routes, chosen by the body's `model`.
    root = OpenAI(base_url=f"{server.base_url}/v1", api_key=server.admin_token)
    assert NAME in [m.id for m in root.models.list().data]
    reply = root.chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": "Hi"}], max_tokens=8
    )
    assert reply.choices[0].message.content is not None

    # A client's own trace id (any form) comes back as sent and does not upset the engine.
    traced = httpx.post(
        f"{server.base_url}/endpoints/{NAME}/v1/chat/completions",
        headers={"Authorization": f"Bearer {server.admin_token}", "X-Request-Id": "trace-42"},
        json={"model": NAME, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
        timeout=60,
    )
    assert traced.status_code == 200, traced.text
    assert traced.headers["x-request-id"] == "trace-42"

    listed = server.cli("ls", "--json")
    assert listed.returncode == 0, listed.stderr
    assert NAME in [e["name"] for e in json.loads(listed.stdout)["items"]]


def test_killing_a_replica_loses_no_request(server: ServerProcess):
    assert _wait(lambda: _all_ready(server), timeout=120)
    victim = _replicas(server)[0]
    with SteadyTraffic(f"{server.base_url}/v1", server.admin_token, NAME) as traffic:
        traffic.wait_for_ok(3, timeout=60)
        os.kill(victim["handle"]["pid"], signal.SIGKILL)
        replaced = _wait(
            lambda: _all_ready(server) and victim["handle"]["pid"] not in _replica_pids(server),
            timeout=120,
        )
        traffic.wait_for_ok(3, timeout=60)
    assert replaced, _replicas(server)
    assert traffic.result.failures == []
    assert traffic.result.ok >= 6
    with server.api() as api:
        reasons = [e["reason"] for e in api.get(f"/api/v1/endpoints/{NAME}/events").json()["items"]]
    assert "ReplicaCrashed" in reasons


def test_patch_rolls_replicas_without_failed_requests(server: ServerProcess):
    assert _wait(lambda: _all_ready(server), timeout=120)
    before = _endpoint(server)["generation"]
    old_pids = set(_replica_pids(server))
    with SteadyTraffic(f"{server.base_url}/v1", server.admin_token, NAME) as traffic:
        traffic.wait_for_ok(3, timeout=60)
        result = server.cli("patch", NAME, "--engine-arg", "n_ctx=1024", "--no-wait")
        assert result.returncode == 0, result.stdout + result.stderr
        rolled = _wait(lambda: _all_ready(server, before + 1), timeout=240)
        traffic.wait_for_ok(3, timeout=60)
    assert rolled, _replicas(server)
    assert traffic.result.failures == []
    assert _endpoint(server)["spec"]["engine_args"]["n_ctx"] == 1024
    assert not old_pids & set(_replica_pids(server)), "every replica was replaced"


def test_server_restart_adopts_running_replicas(server: ServerProcess):
    assert _wait(lambda: _all_ready(server), timeout=120)
    pids = sorted(_replica_pids(server))
    server.stop()
    assert all(_alive(pid) for pid in pids), "replicas outlive the control plane"
    server.start()
    assert _wait(lambda: _all_ready(server), timeout=60)
    time.sleep(3)  # a few reconcile ticks: nothing gets restarted
    assert sorted(_replica_pids(server)) == pids
    client = OpenAI(base_url=f"{server.base_url}/v1", api_key=server.admin_token, max_retries=0)
    reply = client.chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": "Hi again"}], max_tokens=8
    )
    assert reply.choices[0].message.content is not None


def test_inference_requires_a_valid_key(server: ServerProcess):
    resp = httpx.post(
        f"{server.base_url}/v1/chat/completions",
        json={"model": NAME, "messages": [{"role": "user", "content": "x"}]},
    )
    assert resp.status_code == 401
    assert "x-request-id" in resp.headers
