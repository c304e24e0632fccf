"""Issue 6 as an attack: viewers and inference keys read replica ports and pids from /replicas,
then call the engine directly. Against a real server with a real replica: only tokens that may
manage the endpoint (admin, member) see a replica's address; the others see its state only.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, running_server, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def srv() -> Iterator[ServerProcess]:
    parent = Path(tempfile.mkdtemp(prefix="mp-addresses-"))
    parent.chmod(0o755)  # replicas may run as another uid: let them reach their directory
    home = parent / "home"
    home.mkdir()
    try:
        with running_server(home) as server:
            yield server
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _replicas(srv: ServerProcess, token: str) -> list[dict[str, Any]]:
    resp = httpx.get(
        f"{srv.base_url}/api/v1/endpoints/web/replicas",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return list(resp.json()["items"])


def _token(srv: ServerProcess, role: str) -> str:
    with srv.api() as api:
        resp = api.post("/api/v1/tokens", json={"name": role, "role": role})
    assert resp.status_code == 201, resp.text
    return str(resp.json()["token"])


def test_only_managers_see_replica_addresses(srv: ServerProcess) -> None:
    spec = {
        "framework": "custom",
        "command": [sys.executable, "-m", "http.server", "{port}", "--bind", "{host}"],
    }
    with srv.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": "web", "spec": spec})
    assert created.status_code == 201, created.text
    inference_key = created.json()["api_key"]

    def ready() -> bool:
        return any(r["state"] == "ready" for r in _replicas(srv, srv.admin_token))

    assert wait_until(ready, 120), srv.log_path.read_text()[-3000:]
    member, viewer = _token(srv, "member"), _token(srv, "viewer")

    hidden = {
        who: _replicas(srv, token) for who, token in (("viewer", viewer), ("key", inference_key))
    }
    shown = {
        who: _replicas(srv, token)
        for who, token in (("admin", srv.admin_token), ("member", member))
    }
    for who, replicas in shown.items():
        launched = [r for r in replicas if r["state"] == "ready"]
        assert launched, (who, replicas)
        for replica in launched:
            assert replica["handle"]["port"] > 0 and replica["handle"]["pid"] > 0, who
    ready_ids = {r["id"] for r in shown["admin"] if r["state"] == "ready"}
    for who, replicas in hidden.items():
        assert ready_ids <= {r["id"] for r in replicas}, who  # the same replicas, states shown
        for replica in replicas:
            assert replica["handle"] is None, (who, replica)
            assert replica["state"]
