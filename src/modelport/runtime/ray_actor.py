"""The actor one replica is on a Ray node: it runs the engine there as a local process.

runtime/ray_calls.py turns this plain class into a detached named actor; Ray schedules it on a
node with the replica's resources (CPUs, GPUs of its type, memory), so its process, the engine
process it starts and the CUDA devices Ray gave it are all on that node. The engine is a
LocalRuntime process bound to the node's private address, its log file in the node's directory.
The actor lives as long as the replica: the controller kills it after stop(), and a node that
dies takes it (and its engine) along, which the server sees as the actor gone.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
from pathlib import Path

from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.runtime.base import ProcessStatus
from modelport.runtime.isolation import ReplicaIsolation
from modelport.runtime.local import LocalRuntime
from modelport.runtime.ports import PortAllocator
from modelport.runtime.ray_calls import node_id, node_ip
from modelport.runtime.ray_guard import guarded


class ReplicaActor:
    """Methods are async: Ray runs them on the actor's own event loop, side by side."""

    def __init__(self, node_dir: str) -> None:
        self._host = node_ip()
        base = Path(node_dir)
        self._local = LocalRuntime(
            base / "logs", host=self._host, isolation=ReplicaIsolation(base / "replicas")
        )
        self._ports = PortAllocator(self._host)
        self._groups: set[int] = set()  # the engines' process groups (their guards' pids)
        atexit.register(self._stop_engines)

    async def slot(self) -> Slot:
        """Where the engine will listen: this node's address, a free port, the node's id (the
        server names the node from it)."""
        return Slot(host=self._host, port=self._ports.allocate(), node=node_id())

    async def start(self, replica_key: str, plan: LaunchPlan) -> ReplicaHandle:
        """The engine under a guard that ends it when this worker process is gone."""
        watched = plan.model_copy(update={"argv": guarded(plan.argv, os.getpid())})
        handle = await self._local.start(replica_key, watched)
        if handle.pid is not None:
            self._groups.add(handle.pid)
        return handle

    async def status(self, handle: ReplicaHandle) -> ProcessStatus:
        return await self._local.status(handle)

    async def stop(self, handle: ReplicaHandle, grace_seconds: float) -> None:
        await self._local.stop(handle, grace_seconds)
        self._groups.discard(handle.pid or 0)

    async def exec_probe(self, handle: ReplicaHandle, argv: list[str], timeout: float) -> bool:
        return await self._local.exec_probe(handle, argv, timeout)

    async def read_logs(self, handle: ReplicaHandle, tail_bytes: int) -> str:
        return await self._local.read_logs(handle, tail_bytes)

    async def cpu_seconds(self, handle: ReplicaHandle) -> list[float | None]:
        return await self._local.cpu_seconds([handle])

    def _stop_engines(self) -> None:
        """On a clean exit of this worker, its engines go too (a killed worker: their guards)."""
        for group in self._groups:
            with contextlib.suppress(OSError):
                os.killpg(group, signal.SIGKILL)
