"""Async invocations survive chaos (issue 8, "Done when"): 200 invocations are submitted to a
real llama.cpp endpoint with two replicas and four workers; mid-flight one replica's process
is killed and the whole server is killed (SIGKILL, no shutdown) and started again on the same
home. Afterwards every one of the 200 ids is completed with exactly one result, in a local
dataset and in an S3 dataset (moto's server over HTTP).

"Killing a worker": workers run inside the server process (invocations/workers.py), so killing
the server mid-flight kills every worker with its calls in flight; their rows' leases lapse
(MODELPORT_ASYNC_LEASE_SECONDS=3 here) and the restarted server's workers take them over.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.s3 import S3Server, s3_server
from tests.support.server import ServerProcess, kill_replicas, pid_alive, wait_until

__all__ = ["s3_server"]

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(420)]

NAME = "chaos"
DATASET = "results"
TOTAL = 200
WORKERS = 4


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path / "home",
        # Leases lapse quickly so the restarted server takes over the killed one's rows soon.
        extra_env={"MODELPORT_ASYNC_LEASE_SECONDS": "3", "MODELPORT_HOLD_TIMEOUT": "30"},
    )
    (tmp_path / "home").mkdir()
    srv.start()
    handles: list[dict[str, Any]] = []
    try:
        yield srv
    finally:
        with contextlib.suppress(httpx.HTTPError):
            if srv.proc and srv.proc.poll() is None:
                handles = srv.replica_handles()
        srv.stop()
        kill_replicas(handles)


def _dataset_body(kind: str, s3: S3Server | None) -> dict[str, Any]:
    if kind == "local":
        return {"name": DATASET}
    assert s3 is not None
    return {
        "name": DATASET,
        "url": f"s3://{s3.new_bucket()}/async",
        "options": {"endpoint_url": s3.endpoint_url, "region": "us-east-1"},
        "credentials": {"key": s3.key, "secret": s3.secret},
    }


def _setup(srv: ServerProcess, smollm2: Path, dataset: dict[str, Any]) -> int:
    """The dataset and a ready two-replica endpoint writing to it; the endpoint's id."""
    with srv.api() as api:
        project = api.get("/api/v1/whoami").json()["project"]
        # An S3 server on loopback reaches the host: the project needs host access.
        granted = api.patch(f"/api/v1/projects/{project}", json={"host_access": True})
        assert granted.status_code == 200, granted.text
        created = api.post("/api/v1/datasets", json=dataset)
        assert created.status_code == 201, created.text
        spec = {
            "framework": "llamacpp",
            "model": {"path": str(smollm2)},
            "engine_args": {"n_ctx": 512},
            "replicas": 2,
            "async_config": {
                "enabled": True,
                "concurrent_workers": WORKERS,
                "dataset_id": DATASET,
            },
        }
        endpoint = api.post("/api/v1/endpoints", json={"name": NAME, "spec": spec})
        assert endpoint.status_code == 201, endpoint.text
    assert wait_until(lambda: len(_ready_pids(srv)) == 2, timeout=120), _replicas(srv)
    return int(endpoint.json()["id"])


def _replicas(srv: ServerProcess) -> list[dict[str, Any]]:
    with srv.api() as api:
        items: list[dict[str, Any]] = api.get(f"/api/v1/endpoints/{NAME}/replicas").json()["items"]
    return items


def _ready_pids(srv: ServerProcess) -> list[int]:
    return [
        r["handle"]["pid"]
        for r in _replicas(srv)
        if r["state"] == "ready" and r.get("handle") and r["handle"].get("pid")
    ]


def _submit_all(srv: ServerProcess) -> list[str]:
    def submit(n: int) -> str:
        resp = httpx.post(
            f"{srv.base_url}/endpoints/{NAME}/async/v1/chat/completions",
            json={"messages": [{"role": "user", "content": f"Say {n}"}], "max_tokens": 4},
            headers={"Authorization": f"Bearer {srv.admin_token}"},
            timeout=30,
        )
        assert resp.status_code == 202, resp.text
        return str(resp.json()["id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(submit, range(TOTAL)))


def _count(srv: ServerProcess, status: str) -> int:
    with srv.api() as api:
        resp = api.get(
            f"/api/v1/endpoints/{NAME}/invocations", params={"status": status, "limit": 1}
        )
    assert resp.status_code == 200, resp.text
    return int(resp.json()["total"])


def _all_invocations(srv: ServerProcess) -> list[dict[str, Any]]:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{NAME}/invocations", params={"limit": 1000})
    assert resp.status_code == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


def _crash(srv: ServerProcess) -> None:
    """SIGKILL: no shutdown, no rows handed back (a crash, not a stop)."""
    assert srv.proc is not None
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(timeout=30)


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_200_invocations_survive_a_killed_replica_and_a_killed_server(
    server: ServerProcess, smollm2_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    s3 = request.getfixturevalue("s3_server") if kind == "s3" else None
    endpoint_id = _setup(server, smollm2_path, _dataset_body(kind, s3))
    ids = _submit_all(server)
    assert len(set(ids)) == TOTAL

    # Mid-flight: some work done, most still to do.
    assert wait_until(lambda: _count(server, "completed") >= 20, timeout=90, interval=0.2)
    victim = _ready_pids(server)[0]
    os.killpg(victim, signal.SIGKILL)  # a replica dies with calls in flight
    assert wait_until(lambda: not pid_alive(victim), timeout=10, interval=0.1)
    done_before = _count(server, "completed")
    assert done_before < TOTAL, "everything finished before the server was killed"
    # Killed right after calls are seen in flight (a freed worker slot claims the next row at
    # once, so with work queued some always are).
    assert wait_until(lambda: _count(server, "in_progress") > 0, timeout=30, interval=0.05)
    _crash(server)  # the server, its workers and their calls in flight
    server.start()

    def finished() -> bool:
        return _count(server, "completed") + _count(server, "failed") == TOTAL

    assert wait_until(finished, timeout=150, interval=1), {
        s: _count(server, s) for s in ("queued", "in_progress", "completed", "failed")
    }
    invocations = {i["id"]: i for i in _all_invocations(server)}
    assert sorted(invocations) == sorted(ids)
    statuses = {i: (v["status"], v["error"]) for i, v in invocations.items()}
    assert {s for s, _ in statuses.values()} == {"completed"}, statuses
    # Rows the killed server held were taken over (a second claim), not lost or run twice.
    assert any(v["attempts"] >= 2 for v in invocations.values())

    # Exactly one result per id in the dataset, and it is the one each invocation reports.
    prefix = f"api/is-{endpoint_id}/response/"
    with server.api() as api:
        listed = api.get(f"/api/v1/datasets/{DATASET}/objects", params={"prefix": prefix})
        assert listed.status_code == 200, listed.text
        assert listed.json()["keys"] == sorted(f"{prefix}{i}.json" for i in ids)
        for invocation_id in ids:
            stored = api.get(f"/api/v1/datasets/{DATASET}/objects/{prefix}{invocation_id}.json")
            assert stored.status_code == 200, stored.text
            document = json.loads(stored.content)
            assert (document["id"], document["status"]) == (invocation_id, "completed")
            assert document["response"]["status"] == 200
            seen = api.get(f"/api/v1/endpoints/{NAME}/invocations/{invocation_id}").json()
            assert seen["result"] == document["response"]["body"]
