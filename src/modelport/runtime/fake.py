"""An in-memory RuntimeBackend for unit tests: fake processes that tests crash, probe and stop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import Resources, RuntimeKind
from modelport.runtime.base import ProcessState, ProcessStatus, only_backend

SIGTERM_EXIT = -15  # the exit code of a process stopped with SIGTERM


@dataclass
class FakeProcess:
    key: str  # the replica key the controller passed to start()
    plan: LaunchPlan
    handle: ReplicaHandle
    exit_code: int | None = None  # None while running
    probe_results: dict[str, bool] = field(default_factory=dict)  # exec argv[0] -> outcome
    cpu_seconds: float | None = None  # None: not measured (as a runtime that cannot tell)

    @property
    def running(self) -> bool:
        return self.exit_code is None


class FakeRuntime:
    """Processes are records keyed by a fake pid; nothing is executed.

    `start_error`, when set, is raised by the next start() calls (e.g. a TemporaryError).
    Exec probes answer `probe_default` unless set per process with `set_probe`.
    """

    name = "fake"

    def __init__(self, host: str = "127.0.0.1", gpus: Mapping[str, int] | None = None) -> None:
        self.host = host
        self.processes: dict[int, FakeProcess] = {}  # by pid
        self.start_calls: list[str] = []  # replica keys, in call order
        self.released: list[str] = []  # replica keys whose placement was given back
        self.stop_calls: list[ReplicaHandle] = []
        self.start_error: Exception | None = None
        self.probe_default = True
        self.cpu_calls = 0  # cpu_seconds() calls: one per autoscaled endpoint with a cpu rule
        self._gpus = dict(gpus or {})
        self._next_pid = 1000
        self._next_port = 20000

    # --- RuntimeBackend -------------------------------------------------------------------
    def select(self, kind: RuntimeKind | None) -> FakeRuntime:
        return only_backend(self, kind)

    def address(self) -> tuple[str, int]:
        self._next_port += 1
        return self.host, self._next_port

    async def place(self, replica_key: str, resources: Resources) -> Slot:
        host, port = self.address()
        return Slot(host=host, port=port)

    async def release(self, replica_key: str) -> None:
        self.released.append(replica_key)

    async def start(self, replica_key: str, plan: LaunchPlan) -> ReplicaHandle:
        self.start_calls.append(replica_key)
        if self.start_error is not None:
            raise self.start_error
        self._next_pid += 1
        handle = ReplicaHandle(
            backend=self.name, host=plan.host, port=plan.port, pid=self._next_pid
        )
        self.processes[self._next_pid] = FakeProcess(replica_key, plan, handle)
        return handle

    async def stop(self, handle: ReplicaHandle, grace_seconds: float) -> None:
        self.stop_calls.append(handle)
        process = self._find(handle)
        if process is not None and process.running:
            process.exit_code = SIGTERM_EXIT

    async def status(self, handle: ReplicaHandle) -> ProcessStatus:
        process = self._find(handle)
        if process is None:
            return ProcessStatus(state=ProcessState.MISSING)
        if process.running:
            return ProcessStatus(state=ProcessState.RUNNING)
        return ProcessStatus(state=ProcessState.EXITED, exit_code=process.exit_code)

    async def exec_probe(self, handle: ReplicaHandle, argv: list[str], timeout: float) -> bool:
        process = self._find(handle)
        if process is None or not process.running:
            return False
        return process.probe_results.get(argv[0], self.probe_default)

    async def read_logs(self, handle: ReplicaHandle, tail_bytes: int = 64_000) -> str:
        process = self._find(handle)
        return "" if process is None else f"fake logs of {process.key}\n"[-tail_bytes:]

    async def cpu_seconds(self, handles: Sequence[ReplicaHandle]) -> list[float | None]:
        self.cpu_calls += 1
        found = [self._find(h) for h in handles]
        return [p.cpu_seconds if p is not None and p.running else None for p in found]

    def gpu_inventory(self) -> dict[str, int]:
        return dict(self._gpus)

    # --- test helpers ---------------------------------------------------------------------
    def crash(self, handle: ReplicaHandle, exit_code: int = 1) -> None:
        """The process ends on its own with `exit_code`."""
        process = self._find(handle)
        assert process is not None, f"no fake process for {handle}"
        process.exit_code = exit_code

    def vanish(self, handle: ReplicaHandle) -> None:
        """The process is gone without a trace (e.g. the host rebooted): status says MISSING."""
        if handle.pid is not None:
            self.processes.pop(handle.pid, None)

    def set_probe(self, handle: ReplicaHandle, command: str, ok: bool) -> None:
        """Exec probes whose argv[0] is `command` answer `ok` for this process."""
        process = self._find(handle)
        assert process is not None, f"no fake process for {handle}"
        process.probe_results[command] = ok

    def burn(self, handle: ReplicaHandle, seconds: float) -> None:
        """The process used `seconds` more CPU seconds (its counter starts at 0)."""
        process = self._find(handle)
        assert process is not None, f"no fake process for {handle}"
        process.cpu_seconds = (process.cpu_seconds or 0.0) + seconds

    def set_gpus(self, inventory: Mapping[str, int]) -> None:
        self._gpus = dict(inventory)

    def running(self) -> list[FakeProcess]:
        return [p for p in self.processes.values() if p.running]

    def _find(self, handle: ReplicaHandle) -> FakeProcess | None:
        return None if handle.pid is None else self.processes.get(handle.pid)
