"""The runtime seam: how replicas become processes (local), containers (docker) or actors (ray).

Only `runtime/*` touches subprocess, Docker or Ray. The controller sees only this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from modelport.domain.errors import PermanentError
from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import Resources, RuntimeKind


class ProcessState(StrEnum):
    """What the runtime sees of a replica's process."""

    RUNNING = "running"  # alive
    EXITED = "exited"  # ended; exit_code says how
    MISSING = "missing"  # no such process (never started, reaped long ago, or pid reused)


class _Named(Protocol):
    name: str


_B = TypeVar("_B", bound=_Named)


def only_backend(backend: _B, kind: RuntimeKind | None) -> _B:
    """select() of a server with one backend: itself for its own kind (or None), else an error
    that says how to get the runtime asked for."""
    name = backend.name
    if kind is None or kind.value == name or name == "fake":
        return backend
    raise PermanentError(
        f"runtime: this server runs replicas on {name!r} only; {kind.value!r} needs "
        f"MODELPORT_RUNTIMES to include it (docs/runtimes.md)"
    )


def on_one_host(name: str, resources: Resources) -> None:
    """place() of a runtime whose replicas run on this host: a replica across nodes cannot run
    here (only its first node's command would start, waiting for its peers forever)."""
    if resources.nodes > 1:
        raise PermanentError(
            f"resources.nodes: {resources.nodes} nodes need the ray runtime; the {name} runtime "
            "runs a replica on this host only (set runtime: ray, docs/runtimes.md)"
        )


class ProcessStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    state: ProcessState
    exit_code: int | None = None


class RuntimeBackend(Protocol):
    name: str

    def select(self, kind: RuntimeKind | None) -> RuntimeBackend:
        """The backend that launches replicas of `kind` (None: the server's default).

        A single backend returns itself for its own kind and None; runtime/router.py holds
        several. Raises PermanentError naming the runtime when this server has no such backend.
        Calls that take a handle go to the backend named by `handle.backend`.
        """
        ...

    async def place(self, replica_key: str, resources: Resources) -> Slot:
        """Where the replica `replica_key` will run: a host and free port for its engine, on a
        node that has `resources` (Ray reserves them here). Raises TemporaryError while nothing
        can hold it (the message says what is missing)."""
        ...

    async def release(self, replica_key: str) -> None:
        """Give back what place() holds for a replica that is not started after all (its plan
        failed). Idempotent; nothing to do where place() holds nothing."""
        ...

    async def start(self, replica_key: str, plan: LaunchPlan) -> ReplicaHandle:
        """Launch the plan. Returns once the process exists (not once it is ready).

        Raises TemporaryError (retry later) or PermanentError (the plan cannot run here).
        """
        ...

    async def stop(self, handle: ReplicaHandle, grace_seconds: float) -> None:
        """SIGTERM the replica's process group, SIGKILL after the grace period. Idempotent.

        Returns once the group is gone, or after SIGKILL and a short wait for the kernel: it
        may take the whole grace period, so the controller runs it in the background (never
        inline in a tick) and asks status() whether the process is gone.
        """
        ...

    async def status(self, handle: ReplicaHandle) -> ProcessStatus: ...

    async def exec_probe(self, handle: ReplicaHandle, argv: list[str], timeout: float) -> bool:
        """Run an exec probe's command beside the replica; True if it exits 0 in time."""
        ...

    async def read_logs(self, handle: ReplicaHandle, tail_bytes: int = 64_000) -> str: ...

    async def cpu_seconds(self, handles: Sequence[ReplicaHandle]) -> list[float | None]:
        """Per handle, in order: the CPU seconds its replica has used since it started (every
        process of it), a counter that only grows; None where the runtime cannot tell (the
        replica is gone, or this runtime does not measure CPU)."""
        ...

    def gpu_inventory(self) -> dict[str, int]:
        """GPU type -> count this runtime can place (empty: no GPUs)."""
        ...
