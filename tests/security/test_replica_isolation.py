"""Issue 6 as attacks on the local runtime, against a real server and real replicas.

- An engine's port answers only the gateway: a direct call without the replica's key is 401
  (real llama.cpp serving SmolLM2, and a custom command), while the gateway path answers.
- A replica (even one a server admin runs with a custom command and an exec probe) cannot read
  the server home (admin token, secret key, database, logs), nor another replica's environment
  or directory; its cwd is its own private directory; it runs as its own unprivileged uid.
- extra_args cannot override the model path (native API and TIR): 422 naming the field.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.domain.errors import PermanentError
from modelport.runtime.isolation import DEFAULT_UID_RANGE, Placement, ReplicaIsolation
from tests.conftest import IN_CI
from tests.support.server import ServerProcess, running_server, serving, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

# A replica that serves only requests with its key, and reports what it can reach.
SNOOP = textwrap.dedent(
    """
    import http.server, json, os, urllib.parse
    KEY = os.environ["MODELPORT_REPLICA_KEY"]

    def attempt(action, path):
        try:
            if action == "list":
                os.listdir(path)
                return "ok"
            with open(path, "rb") as f:
                return "ok:" + f.read(64).decode("utf-8", "replace").strip()
        except OSError as exc:
            return type(exc).__name__

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.headers.get("Authorization") != "Bearer " + KEY:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            report = {
                "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
                "pid": os.getpid(), "cwd": os.getcwd(), "home": os.environ.get("HOME"),
                "read": {p: attempt("read", p) for p in query.get("read", [])},
                "list": {p: attempt("list", p) for p in query.get("list", [])},
            }
            body = json.dumps(report).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    address = (os.environ["HOST"], int(os.environ["PORT"]))
    http.server.ThreadingHTTPServer(address, Handler).serve_forever()
    """
)


def _python_for_replica_uids() -> str | None:
    """An interpreter a fresh unprivileged uid can run (this venv's, unless it lives in /root)."""
    probe = Placement(Path("/"), DEFAULT_UID_RANGE[0], DEFAULT_UID_RANGE[0])
    for candidate in (sys.executable, shutil.which("python3", path="/usr/local/bin:/usr/bin")):
        if candidate is None:
            continue
        try:
            ReplicaIsolation.check_can_run(candidate, probe, None)
        except PermanentError:
            continue
        return candidate
    return None


@pytest.fixture(scope="module")
def loose_parent() -> Iterator[Path]:
    """A world-traversable parent (unlike pytest's 0700 tmp dirs), so only the server home's own
    mode can keep replicas out of it."""
    parent = Path(tempfile.mkdtemp(prefix="mp-isolation-"))
    parent.chmod(0o755)
    yield parent
    shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def isolated(loose_parent: Path) -> Iterator[ServerProcess]:
    """A server that, as root, runs each replica as its own uid (the default, 'auto')."""
    if os.geteuid() != 0 and not IN_CI:
        pytest.skip("the uid switch needs the server to run as root")
    home = loose_parent / "isolated-home"
    home.mkdir(mode=0o755)  # the server must tighten it
    home.chmod(0o755)
    with serving(ServerProcess(home, extra_env={"MODELPORT_REPLICA_USER": "auto"})) as srv:
        yield srv


@pytest.fixture(scope="module")
def server(loose_parent: Path) -> Iterator[ServerProcess]:
    """A server as the rest of the suite runs it (tests.support.server picks the replica user)."""
    home = loose_parent / "home"
    home.mkdir()
    with running_server(home) as srv:
        yield srv


def _create(srv: ServerProcess, name: str, spec: dict[str, Any]) -> None:
    with srv.api() as api:
        resp = api.post("/api/v1/endpoints", json={"name": name, "spec": spec})
    assert resp.status_code in (200, 201), resp.text


def _replicas(srv: ServerProcess, name: str) -> list[dict[str, Any]]:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{name}/replicas")
    resp.raise_for_status()
    return list(resp.json()["items"])


def _ready_replica(srv: ServerProcess, name: str, timeout: float) -> dict[str, Any]:
    def ready() -> bool:
        return any(r["state"] == "ready" for r in _replicas(srv, name))

    assert wait_until(ready, timeout), (_replicas(srv, name), srv.log_path.read_text()[-3000:])
    return next(r for r in _replicas(srv, name) if r["state"] == "ready")


def _snoop_spec(python: str) -> dict[str, Any]:
    return {
        "framework": "custom",
        "command": [python, "-c", SNOOP],
        # Exec probes run beside the replica: as its user, in its directory.
        "readiness": {
            "protocol": "exec",
            "commands": ["/bin/sh", "-c", "id -u > probe-uid"],
            "period_seconds": 1,
        },
    }


@pytest.fixture(scope="module")
def snoops(isolated: ServerProcess) -> dict[str, dict[str, Any]]:
    python = _python_for_replica_uids()
    if python is None:
        pytest.fail("no Python interpreter that an unprivileged uid can run")
    for name in ("snoop-a", "snoop-b"):
        _create(isolated, name, _snoop_spec(python))
    return {name: _ready_replica(isolated, name, 120) for name in ("snoop-a", "snoop-b")}


def _ask(srv: ServerProcess, name: str, **query: list[str]) -> dict[str, Any]:
    resp = httpx.get(
        f"{srv.base_url}/endpoints/{name}/report",
        params=query,
        headers={"Authorization": f"Bearer {srv.admin_token}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def test_the_server_home_is_the_servers_alone(isolated: ServerProcess) -> None:
    assert stat.S_IMODE(isolated.home.stat().st_mode) == 0o700  # tightened from 0755
    assert stat.S_IMODE((isolated.home / "logs").stat().st_mode) == 0o700


def test_a_replica_cannot_read_the_server_home_or_another_replica(
    isolated: ServerProcess, snoops: dict[str, dict[str, Any]]
) -> None:
    other = _ask(isolated, "snoop-b")
    home = isolated.home
    report = _ask(
        isolated,
        "snoop-a",
        read=[
            str(home / "admin-token"),
            str(home / "secret.key"),
            str(home / "modelport.db"),
            f"/proc/{other['pid']}/environ",  # holds the other replica's key
            "probe-uid",  # written by this replica's exec probe, in its cwd
        ],
        list=[str(home), str(home / "logs"), other["cwd"]],
    )

    for path in (home / "admin-token", home / "secret.key", home / "modelport.db"):
        assert report["read"][str(path)] == "PermissionError", path
    assert report["read"][f"/proc/{other['pid']}/environ"] == "PermissionError"
    assert report["list"] == {p: "PermissionError" for p in report["list"]}
    # Each replica runs as its own unprivileged uid, without root's groups.
    low, high = DEFAULT_UID_RANGE
    assert low <= report["uid"] <= high and low <= other["uid"] <= high
    assert report["uid"] != other["uid"]
    assert report["groups"] == [report["gid"]] or report["groups"] == []
    # The exec probe ran as the replica's user, in the replica's directory.
    assert report["read"]["probe-uid"] == f"ok:{report['uid']}"


def test_each_replica_works_in_its_own_private_directory(
    isolated: ServerProcess, snoops: dict[str, dict[str, Any]]
) -> None:
    report = _ask(isolated, "snoop-a")
    cwd = Path(report["cwd"])

    assert report["home"] == str(cwd)
    assert isolated.home not in cwd.parents and cwd != isolated.home
    info = cwd.stat()
    assert info.st_uid == report["uid"] and stat.S_IMODE(info.st_mode) == 0o700
    assert snoops["snoop-a"]["handle"].get("sealed_key") is None  # never in an API answer


def test_a_custom_replica_answers_only_the_gateway(
    isolated: ServerProcess, snoops: dict[str, dict[str, Any]]
) -> None:
    handle = snoops["snoop-a"]["handle"]
    direct = f"http://{handle['host']}:{handle['port']}/report"

    assert httpx.get(direct, timeout=10).status_code == 401
    wrong = {"Authorization": f"Bearer {isolated.admin_token}"}  # a Modelport token is no key
    assert httpx.get(direct, headers=wrong, timeout=10).status_code == 401
    assert _ask(isolated, "snoop-a")["uid"] > 0  # the gateway path answers


def test_a_replica_directory_goes_with_the_replica(
    isolated: ServerProcess, snoops: dict[str, dict[str, Any]]
) -> None:
    cwd = Path(_ask(isolated, "snoop-b")["cwd"])
    with isolated.api() as api:
        assert api.delete("/api/v1/endpoints/snoop-b").status_code in (200, 202, 204)

    assert wait_until(lambda: not cwd.exists(), 60)


# --- llama.cpp: the real engine requires the key ------------------------------------------------


@pytest.mark.engine
def test_llamacpp_answers_only_with_the_replica_key(
    server: ServerProcess, smollm2_path: Path
) -> None:
    _create(server, "smol", {"framework": "llamacpp", "model": {"path": str(smollm2_path)}})
    replica = _ready_replica(server, "smol", 180)
    handle = replica["handle"]
    chat = {"model": "smol", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4}
    direct = f"http://{handle['host']}:{handle['port']}/v1/chat/completions"

    via_gateway = httpx.post(
        f"{server.base_url}/v1/chat/completions",
        json=chat,
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=60,
    )
    assert via_gateway.status_code == 200, via_gateway.text
    assert httpx.post(direct, json=chat, timeout=60).status_code == 401
    forged = {"Authorization": f"Bearer {server.admin_token}"}
    assert httpx.post(direct, json=chat, headers=forged, timeout=60).status_code == 401

    # The key the engine enforces (root may read its environment; other users may not) is in
    # its environment, not its world-readable argv, nor any answer, log or database row.
    environ = Path(f"/proc/{handle['pid']}/environ").read_bytes().split(b"\0")
    key = next(v.split(b"=", 1)[1] for v in environ if v.startswith(b"API_KEY=")).decode()
    keyed = {"Authorization": f"Bearer {key}"}
    assert httpx.post(direct, json=chat, headers=keyed, timeout=60).status_code == 200
    assert key not in Path(f"/proc/{handle['pid']}/cmdline").read_text()
    with server.api() as api:
        answers = [
            api.get("/api/v1/endpoints/smol/replicas").text,
            api.get("/api/v1/endpoints/smol").text,
            api.get("/api/v1/endpoints/smol/events").text,
            api.get("/api/v1/endpoints/smol/logs").text,
        ]
    for text in answers:
        assert key not in text
    assert key not in server.log_path.read_text()
    assert key not in Path(handle["log_path"]).read_text() if handle.get("log_path") else True
    with sqlite3.connect(server.home / "modelport.db") as db:
        stored = json.dumps(db.execute("SELECT handle FROM replicas").fetchall())
    assert key not in stored and "sealed_key" in stored  # sealed, so a restart can adopt it


# --- extra_args cannot replace the model ---------------------------------------------------------


@pytest.mark.parametrize(
    "extra", [["--model", "/etc/hostname"], ["--model=/etc/hostname"], ["--mod", "/etc/hostname"]]
)
def test_extra_args_cannot_override_the_model_natively(
    server: ServerProcess, smollm2_path: Path, extra: list[str]
) -> None:
    spec = {"framework": "llamacpp", "model": {"path": str(smollm2_path)}, "extra_args": extra}
    with server.api() as api:
        resp = api.post("/api/v1/endpoints", json={"name": "override", "spec": spec})

    assert resp.status_code == 422, resp.text
    assert "spec.extra_args.0" in resp.text and "--model" in resp.text


def test_extra_args_cannot_override_the_model_through_tir(
    server: ServerProcess, smollm2_path: Path
) -> None:
    with server.api() as api:
        project_id = int(api.get("/api/v1/whoami").json()["project_id"])
    body = {
        "name": "tir-override",
        "path": str(smollm2_path),
        "framework": "llamacpp",
        "custom_endpoint_details": {
            "container": {"container_name": "", "container_type": "public"},
            "resource_details": {"disk_size": 10, "env_variables": []},
        },
        "replica": 1,
        "is_auto_scale_enabled": False,
        "auto_scale_policy": {"min_replicas": 1, "max_replicas": 1, "rules": []},
        "detailed_info": {"args": "--seed 1 --model /etc/hostname"},
        "model_load_integration_id": None,
        "cluster_type": "tir-cluster",
        "sku_id": 101,
        "sku_item_price_id": 1001,
    }
    resp = httpx.post(
        f"{server.base_url}/tir/serving/inference/",
        json=body,
        params={"project_id": project_id, "location": "Delhi", "active_iam": 1},
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
    )

    assert resp.status_code == 400, resp.text  # TIR's status for a rejected field
    assert resp.json()["code"] == 400  # TIR's envelope
    assert "detailed_info.args.2" in resp.json()["errors"]  # the field in TIR's own terms
    assert "--model" in resp.json()["message"]
