"""Restarting one replica, end to end: a real server, two real llama.cpp replicas serving
SmolLM2, the CLI and the native API. The restarted replica is replaced by a fresh process while
the other keeps serving (no request fails), and a restart of the control plane in between does
not lose the request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess, kill_replicas, pid_alive, wait_until
from tests.support.traffic import SteadyTraffic
from tests.support.vendor_clients import server_log_problems

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

NAME = "smol-restart"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("mp-home"))
    srv.start()
    try:
        deployed = srv.cli(
            "deploy", NAME, "--framework", "llamacpp", "--model", str(smollm2_path),
            "--replicas", "2", "--engine-arg", "n_ctx=512", "--timeout", "240",
        )  # fmt: skip
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        yield srv
    finally:
        handles = srv.replica_handles() if srv.proc and srv.proc.poll() is None else []
        if handles:
            with srv.api() as api:
                api.delete(f"/api/v1/endpoints/{NAME}")
            wait_until(lambda: not srv.replica_handles(), timeout=60)
        srv.stop()
        kill_replicas(handles)


def _replicas(srv: ServerProcess) -> list[dict[str, Any]]:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{NAME}/replicas")
    resp.raise_for_status()
    return list(resp.json()["items"])


def _replaced(srv: ServerProcess, old: dict[str, Any]) -> bool:
    """Two READY replicas, none of them `old`, and `old`'s process gone."""
    reps = _replicas(srv)
    return (
        len(reps) == 2
        and all(r["state"] == "ready" for r in reps)
        and old["id"] not in {r["id"] for r in reps}
        and not pid_alive(old["handle"]["pid"])
    )


def _reasons(srv: ServerProcess) -> list[tuple[str, int | None]]:
    with srv.api() as api:
        events = api.get(f"/api/v1/endpoints/{NAME}/events", params={"limit": 1000}).json()
    return [(e["reason"], e["replica_id"]) for e in events["items"]]


def test_restarting_one_replica_keeps_the_endpoint_serving(server: ServerProcess):
    assert wait_until(lambda: [r["state"] for r in _replicas(server)] == ["ready"] * 2, 120)
    target, kept = _replicas(server)
    with SteadyTraffic(f"{server.base_url}/v1", server.admin_token, NAME) as traffic:
        traffic.wait_for_ok(3, timeout=60)
        result = server.cli("replicas", "restart", NAME, str(target["id"]), "--json")
        assert result.returncode == 0, result.stdout + result.stderr
        answered = json.loads(result.stdout)
        assert (answered["id"], answered["state"]) == (target["id"], "ready")
        assert answered["restart_requested_at"]
        replaced = wait_until(lambda: _replaced(server, target), timeout=180)
        traffic.wait_for_ok(3, timeout=60)
    assert replaced, _replicas(server)
    assert traffic.result.failures == []
    assert traffic.result.ok >= 6

    after = {r["id"]: r for r in _replicas(server)}
    assert after[kept["id"]]["handle"]["pid"] == kept["handle"]["pid"], "the other was kept"
    assert pid_alive(kept["handle"]["pid"])
    (fresh,) = [r for r in after.values() if r["id"] != kept["id"]]
    assert fresh["generation"] == target["generation"]
    assert fresh["restart_requested_at"] is None
    reasons = _reasons(server)
    assert ("ReplicaRestartRequested", target["id"]) in reasons
    assert ("ReplicaDraining", target["id"]) in reasons
    assert ("ReplicaDraining", kept["id"]) not in reasons
    assert server_log_problems(server.log_path.read_text()) == []


def test_a_restart_asked_before_the_control_plane_restarts_still_happens(server: ServerProcess):
    assert wait_until(lambda: [r["state"] for r in _replicas(server)] == ["ready"] * 2, 120)
    target, kept = _replicas(server)
    with server.api() as api:
        resp = api.post(f"/api/v1/endpoints/{NAME}/replicas/{target['id']}/restart")
    assert resp.status_code == 200, resp.text
    server.stop()
    server.start()
    assert wait_until(lambda: _replaced(server, target), timeout=180), _replicas(server)
    assert kept["handle"]["pid"] in [r["handle"]["pid"] for r in _replicas(server)]
    assert server_log_problems(server.log_path.read_text()) == []
