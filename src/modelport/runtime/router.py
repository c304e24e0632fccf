"""Several runtime backends behind one RuntimeBackend: launches go where the spec's `runtime`
says (select), everything about an existing replica goes to the backend its handle names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from modelport.domain.errors import PermanentError
from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import Resources, RuntimeKind
from modelport.runtime.base import ProcessState, ProcessStatus, RuntimeBackend

_MISSING = ProcessStatus(state=ProcessState.MISSING)


class RuntimeRouter:
    """The server's runtimes by kind, with a default for specs that name none."""

    def __init__(self, backends: Mapping[RuntimeKind, RuntimeBackend], default: RuntimeKind):
        if default not in backends:
            raise ValueError(f"default runtime {default.value!r} is not among the backends")
        self._backends = dict(backends)
        self._default = default
        self.name = backends[default].name

    def select(self, kind: RuntimeKind | None) -> RuntimeBackend:
        chosen = self._default if kind is None else kind
        backend = self._backends.get(chosen)
        if backend is None:
            have = ", ".join(k.value for k in self._backends)
            raise PermanentError(
                f"runtime: {chosen.value!r} is not enabled on this server (it runs: {have}); "
                "set MODELPORT_RUNTIMES to include it (docs/runtimes.md)"
            )
        return backend

    def _owner(self, handle: ReplicaHandle) -> RuntimeBackend | None:
        for backend in self._backends.values():
            if backend.name == handle.backend:
                return backend
        return None

    # --- RuntimeBackend: the default backend for launches, the handle's for the rest --------
    async def place(self, replica_key: str, resources: Resources) -> Slot:
        return await self._backends[self._default].place(replica_key, resources)

    async def release(self, replica_key: str) -> None:
        await self._backends[self._default].release(replica_key)

    async def start(self, replica_key: str, plan: LaunchPlan) -> ReplicaHandle:
        return await self._backends[self._default].start(replica_key, plan)

    async def stop(self, handle: ReplicaHandle, grace_seconds: float) -> None:
        owner = self._owner(handle)
        if owner is not None:
            await owner.stop(handle, grace_seconds)

    async def status(self, handle: ReplicaHandle) -> ProcessStatus:
        owner = self._owner(handle)
        # A handle of a runtime this server no longer runs: its replica cannot be seen.
        return _MISSING if owner is None else await owner.status(handle)

    async def exec_probe(self, handle: ReplicaHandle, argv: list[str], timeout: float) -> bool:
        owner = self._owner(handle)
        return owner is not None and await owner.exec_probe(handle, argv, timeout)

    async def read_logs(self, handle: ReplicaHandle, tail_bytes: int = 64_000) -> str:
        owner = self._owner(handle)
        return "" if owner is None else await owner.read_logs(handle, tail_bytes)

    async def cpu_seconds(self, handles: Sequence[ReplicaHandle]) -> list[float | None]:
        out: list[float | None] = [None] * len(handles)
        for backend in self._backends.values():
            mine = [i for i, h in enumerate(handles) if h.backend == backend.name]
            if not mine:
                continue
            seconds = await backend.cpu_seconds([handles[i] for i in mine])
            for index, value in zip(mine, seconds, strict=True):
                out[index] = value
        return out

    def gpu_inventory(self) -> dict[str, int]:
        # Every backend here places on this host's GPUs: counting each would double them.
        return self._backends[self._default].gpu_inventory()
