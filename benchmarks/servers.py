"""The Modelport processes the gateway benchmark measures, from this checkout or another `src/`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from benchlib import free_port, process, wait_for_port

HERE = Path(__file__).resolve().parent
GATEWAY_ONLY = HERE / "upstream" / "gateway_only.py"


def _env(src: Path | None, **extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    if src is not None:  # another commit's package shadows the installed (editable) one
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


@contextlib.contextmanager
def modelport_server(
    workdir: Path, launch_nginx: Path, src: Path | None = None, extra: dict[str, str] | None = None
) -> Iterator[tuple[str, str, dict[str, int], int]]:
    """The real server with endpoint `bench`: a `custom` endpoint whose command is nginx.

    Yields (base URL, admin token, process groups {"proxy", "replica"}, replica port).
    """
    home, port = workdir / "home", free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = _env(
        src,
        **(extra or {}),
        MODELPORT_HOME=str(home),
        MODELPORT_PORT=str(port),
        MODELPORT_HOST="127.0.0.1",
        MODELPORT_LOG_LEVEL="warning",
    )
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "modelport.cli.main", "server"]
    with process(argv, workdir / "server.log", env) as server:
        wait_for_port(port, 60)
        token = (home / "admin-token").read_text().strip()
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        command = [sys.executable, str(launch_nginx), "upstream", "--port", "{port}"]
        spec = {
            "framework": "custom",
            "command": command,
            "readiness": {"protocol": "http", "path": "/", "period_seconds": 0.5},
        }
        api.post("/api/v1/endpoints", json={"name": "bench", "spec": spec}).raise_for_status()
        replica_pid = None
        try:
            replica_port, replica_pid = _wait_ready(api)
            groups = {"proxy": server.pid, "replica": os.getpgid(replica_pid)}
            yield base, token, groups, replica_port
        finally:
            api.delete("/api/v1/endpoints/bench")
            time.sleep(2)  # let the controller stop the replica
            if replica_pid is not None:  # and make sure it is gone, whatever happened
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(replica_pid, signal.SIGTERM)


def _wait_ready(api: httpx.Client, timeout: float = 60) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        endpoint = api.get("/api/v1/endpoints/bench").json()
        if endpoint.get("phase") == "ready":
            items = api.get("/api/v1/endpoints/bench/replicas").json()["items"]
            handle = next(r["handle"] for r in items if r["state"] == "ready")
            return int(handle["port"]), int(handle["pid"])
        time.sleep(0.25)
    raise RuntimeError("endpoint 'bench' did not become ready in time")


@contextlib.contextmanager
def modelport_gateway(
    workdir: Path, upstream_port: int, src: Path | None = None, extra: dict[str, str] | None = None
) -> Iterator[tuple[str, str, int]]:
    """The gateway app alone under uvicorn; yields (base URL, token, process group)."""
    port = free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        str(GATEWAY_ONLY),
        "--port",
        str(port),
        "--upstream",
        f"127.0.0.1:{upstream_port}",
        "--home",
        str(workdir / "gw-home"),
    ]
    log = workdir / "gateway.log"
    with process(argv, log, _env(src, **(extra or {}))) as gateway:
        wait_for_port(port, 60)
        line = next(ln for ln in log.read_text().splitlines() if ln.startswith("{"))
        yield f"http://127.0.0.1:{port}", json.loads(line)["token"], gateway.pid
