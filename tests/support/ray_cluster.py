"""A real multi-node Ray cluster on this machine for tests: `ray start --head` plus workers
(`ray start --address`), each its own raylet with its own ports, CPUs and declared test GPUs.

Each node runs `ray start --block` in its own session, so one node (raylet, workers, agents and
the engine processes its actors started in their own sessions) can be killed alone, as a lost
machine would be. Teardown kills every node this module started, even after a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import need

START_TIMEOUT_S = 90.0  # a node on a loaded 2-core machine
# Node death is noticed after period x threshold: fast here, so node-loss tests stay short.
_SYSTEM_CONFIG = {"health_check_period_ms": 500, "health_check_failure_threshold": 4}


def ray_bin() -> Path | None:
    """The `ray` command beside this interpreter, or None when ray is not installed."""
    path = Path(sys.executable).parent / "ray"
    return path if path.exists() else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class NodeSpec:
    """One node: its name, logical CPUs and declared GPUs (type -> count)."""

    name: str
    cpus: int = 1  # ray start takes whole CPUs
    gpus: int = 0
    gpu_type: str | None = None

    def resource_flags(self) -> list[str]:
        flags = ["--num-cpus", str(self.cpus), "--num-gpus", str(self.gpus)]
        if self.gpu_type is not None:
            # As Ray's own GPU detection labels a node: accelerator_type:<type>.
            flags += ["--resources", json.dumps({f"accelerator_type:{self.gpu_type}": 1})]
        return flags


@dataclass
class RayNode:
    spec: NodeSpec
    process: subprocess.Popen[bytes]
    log: Path

    def descendants(self) -> list[int]:
        """Every process below this node's `ray start` (engines in their own sessions too)."""
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
        found: list[int] = []
        todo = [self.process.pid]
        while todo:
            pid = todo.pop()
            for child in children.get(pid, []):
                found.append(child)
                todo.append(child)
        return found

    def kill(self) -> None:
        """SIGKILL this node and everything it started, as a machine that dies."""
        pids = [self.process.pid, *self.descendants()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@dataclass
class RayCluster:
    root: Path
    gcs_port: int
    nodes: dict[str, RayNode] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.gcs_port}"

    def start_node(self, spec: NodeSpec, head: bool = False) -> RayNode:
        ray = ray_bin()
        assert ray is not None
        ports = [
            "--node-manager-port", str(_free_port()),
            "--object-manager-port", str(_free_port()),
            "--runtime-env-agent-port", str(_free_port()),
            "--dashboard-agent-grpc-port", str(_free_port()),
            "--dashboard-agent-listen-port", str(_free_port()),
            "--metrics-export-port", str(_free_port()),
            "--min-worker-port", "0", "--max-worker-port", "0",  # the kernel picks
        ]  # fmt: skip
        if head:
            where = [
                "--head", "--port", str(self.gcs_port),
                "--ray-client-server-port", str(_free_port()),
                "--include-dashboard", "false",
                "--system-config", json.dumps(_SYSTEM_CONFIG),
            ]  # fmt: skip
        else:
            where = ["--address", self.address]
        argv = [
            str(ray), "start", "--block", "--disable-usage-stats",
            "--node-ip-address", "127.0.0.1", "--node-name", spec.name,
            "--temp-dir", str(self.root / "tmp"),
            *where, *ports, *spec.resource_flags(),
        ]  # fmt: skip
        log = self.root / f"{spec.name}.log"
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        node = RayNode(spec, process, log)
        self.nodes[spec.name] = node
        self.wait_for_node(spec.name)
        return node

    def alive_node_names(self) -> set[str]:
        out = self._python(
            f"import ray, json; ray.init(address={self.address!r}, logging_level='ERROR');"
            "print(json.dumps([n['NodeName'] for n in ray.nodes() if n['Alive']]))"
        )
        names: list[str] = json.loads(out.strip().splitlines()[-1])
        return set(names)

    def wait_for_node(self, name: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            node = self.nodes[name]
            if node.process.poll() is not None:
                raise AssertionError(f"ray node {name} exited:\n{node.log.read_text()[-3000:]}")
            with contextlib.suppress(subprocess.CalledProcessError, ValueError):
                if name in self.alive_node_names():
                    return
            time.sleep(0.5)
        raise AssertionError(f"ray node {name} not up in {START_TIMEOUT_S}s")

    def kill_node(self, name: str) -> None:
        self.nodes.pop(name).kill()

    def stop(self) -> None:
        for name in list(self.nodes):
            with contextlib.suppress(Exception):
                self.kill_node(name)
        if not os.environ.get("MODELPORT_KEEP_RAY_LOGS"):  # set it to read a failed run's logs
            shutil.rmtree(self.root, ignore_errors=True)

    def _python(self, code: str) -> str:
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        return subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env=env,
        ).stdout


@contextlib.contextmanager
def ray_cluster(head: NodeSpec, workers: list[NodeSpec]) -> Iterator[RayCluster]:
    """A running cluster of `head` + `workers`; every node is killed on exit, even on failure."""
    need(ray_bin() is not None, "ray is not installed (pip install 'modelport[ray]')")
    # Short: Ray's unix socket paths live under it.
    root = Path(tempfile.mkdtemp(prefix="mpray-", dir="/tmp"))
    cluster = RayCluster(root=root, gcs_port=_free_port())
    try:
        cluster.start_node(head, head=True)
        for spec in workers:
            cluster.start_node(spec)
        yield cluster
    finally:
        cluster.stop()
