"""A real `modelport server` subprocess for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from modelport.domain.errors import PermanentError
from modelport.runtime.isolation import DEFAULT_UID_RANGE, Placement, ReplicaIsolation


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """Starts, stops and restarts a server on a fixed port and home, like an operator would."""

    def __init__(
        self, home: Path, port: int | None = None, extra_env: dict[str, str] | None = None
    ):
        self.home = home
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "server.log"
        self._env = {
            "MODELPORT_REPLICA_USER": replica_user_for_tests(),  # the environment may override
            # One server process: a gateway process per core (the default) costs every test
            # server a second interpreter on the 2-core CI machine; the multi-process gateway
            # has its own tests (test_gateway_workers.py, test_edge_limits.py set 2).
            "MODELPORT_GATEWAY_WORKERS": "1",
            # Each server its own model cache (as root the default is one shared directory, so
            # a test would find what another downloaded); replicas' uids must reach it.
            "MODELPORT_MODEL_CACHE": _shared_tmp("modelport-model-cache-"),
            **os.environ,
            "MODELPORT_HOME": str(home),
            "MODELPORT_PORT": str(self.port),
            "MODELPORT_HOST": "127.0.0.1",
            "MODELPORT_RECONCILE_INTERVAL": "0.5",
            "MODELPORT_BACKOFF_INITIAL": "0.5",
            "PYTHONUNBUFFERED": "1",
            **(extra_env or {}),
        }
        self._env.pop("MODELPORT_URL", None)
        self._env.pop("MODELPORT_TOKEN", None)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """Environment for CLI subprocesses talking to this server."""
        return dict(self._env)

    @property
    def admin_token(self) -> str:
        return (self.home / "admin-token").read_text().strip()

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "modelport.cli.main", "server"],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()[-4000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()[-4000:]}")

    def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def cli(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "modelport.cli.main", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def replica_pids(self) -> list[int]:
        """The pids of every replica of every endpoint the admin token sees."""
        return [h["pid"] for h in self.replica_handles() if h.get("pid")]

    def replica_handles(self) -> list[dict[str, Any]]:
        """The handles of every replica of every endpoint the admin token sees."""
        handles: list[dict[str, Any]] = []
        with self.api() as api:
            for endpoint in api.get("/api/v1/endpoints").json()["items"]:
                reps = api.get(f"/api/v1/endpoints/{endpoint['name']}/replicas")
                if reps.status_code == 404:
                    continue  # deleted since the list was read: its replicas are going too
                handles += [r["handle"] for r in reps.json()["items"] if r.get("handle")]
        return handles

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )


def _shared_tmp(prefix: str) -> str:
    path = tempfile.mkdtemp(prefix=prefix)
    os.chmod(path, 0o755)
    return path


def replica_user_for_tests() -> str:
    """MODELPORT_REPLICA_USER for test servers: "auto" (as root, a uid per replica) where such a
    uid can run this interpreter; else "server". On hosts whose Python lives under /root (mode
    0700) no other user can run it, so llama.cpp replicas could not start; tests/security runs
    the uid switch there with an interpreter other users can reach."""
    probe = Placement(Path("/"), DEFAULT_UID_RANGE[0], DEFAULT_UID_RANGE[0])
    try:
        ReplicaIsolation.check_can_run(sys.executable, probe, None)
    except PermanentError:
        return "server"
    return "auto"


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    """Poll `predicate` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def pid_alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@contextlib.contextmanager
def running_server(home: Path) -> Iterator[ServerProcess]:
    """A started server; afterwards it is stopped and every replica it had is killed."""
    with serving(ServerProcess(home)) as srv:
        yield srv


@contextlib.contextmanager
def serving(srv: ServerProcess) -> Iterator[ServerProcess]:
    """`srv` started; afterwards it is stopped and every replica it had is killed."""
    srv.start()
    try:
        yield srv
    finally:
        handles = srv.replica_handles() if srv.proc and srv.proc.poll() is None else []
        srv.stop()
        kill_replicas(handles)


def kill_replicas(handles: list[dict[str, Any]]) -> None:
    """Last-resort cleanup of replicas a test left behind: their processes and directories
    (a stopped server leaves replicas running on purpose, so nothing else removes them)."""
    kill_process_groups([h["pid"] for h in handles if h.get("pid")])
    for handle in handles:
        if handle.get("workdir"):
            shutil.rmtree(handle["workdir"], ignore_errors=True)


def kill_process_groups(pids: list[int]) -> None:
    """Last-resort cleanup of replica processes a test left behind."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
