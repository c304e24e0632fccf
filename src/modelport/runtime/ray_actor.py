"""The actor one replica is on a Ray node: it runs the engine there as a local process.

runtime/ray_calls.py turns this plain class into a detached named actor; Ray schedules it on a
node with the replica's resources (CPUs, GPUs of its type, memory), so its process, the engine
process it starts and the CUDA devices Ray gave it are all on that node. The engine is a
LocalRuntime process bound to the node's private address, its log file in the node's directory.
The actor lives as long as the replica: the controller kills it after stop(), and a node that
dies takes it (and its engine) along, which the server sees as the actor gone.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import socket
from collections.abc import Sequence
from pathlib import Path

from modelport.domain.errors import TemporaryError
from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.runtime.base import ProcessState, ProcessStatus
from modelport.runtime.isolation import ReplicaIsolation
from modelport.runtime.local import LocalRuntime
from modelport.runtime.ports import PortAllocator
from modelport.runtime.ray_calls import actor_exists, node_id, node_ip
from modelport.runtime.ray_guard import guarded

_PORT_TRIES = 16


def _free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


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
        self._peers: list[str] = []
        atexit.register(self._stop_engines)

    async def slot(self, span: int = 1) -> Slot:
        """Where the engine will listen: this node's address, a free port (with the `span` - 1
        ports above it free too: the rendezvous of engines across nodes), the node's id (the
        server names the node from it)."""
        for _ in range(_PORT_TRIES):
            port = self._ports.allocate()
            if all(_free(self._host, port + above) for above in range(1, span)):
                return Slot(host=self._host, port=port, node=node_id())
        raise TemporaryError(f"no {span} free ports in a row on {self._host}", delay=2.0)

    async def start(
        self, replica_key: str, plan: LaunchPlan, peers: Sequence[str] = ()
    ) -> ReplicaHandle:
        """The engine under a guard that ends it when this worker process is gone. `peers`:
        the actors of the replica's other nodes; without any of them it is gone too."""
        watched = plan.model_copy(update={"argv": guarded(plan.argv, os.getpid())})
        handle = await self._local.start(replica_key, watched)
        if handle.pid is not None:
            self._groups.add(handle.pid)
        self._peers = list(peers)
        return handle

    async def started(self) -> bool:
        """Whether this actor runs an engine (else it waits for start(), or never got it)."""
        return bool(self._groups)

    async def status(self, handle: ReplicaHandle) -> ProcessStatus:
        status = await self._local.status(handle)
        if status.state is ProcessState.RUNNING and self._peers:
            alive = await asyncio.gather(*(asyncio.to_thread(actor_exists, p) for p in self._peers))
            if not all(alive):  # a node of the replica died: the engines cannot serve
                return ProcessStatus(state=ProcessState.MISSING)
        return status

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
