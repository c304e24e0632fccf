"""LocalRuntime with real processes: start, observe, stop, adopt after a restart, pid reuse."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from modelport.domain.errors import PermanentError
from modelport.domain.launch import LaunchPlan
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import ProbeProtocol, ProbeSpec, Resources
from modelport.runtime.base import ProcessState
from modelport.runtime.gpus import parse_gpu_names
from modelport.runtime.isolation import ReplicaIsolation
from modelport.runtime.local import LocalRuntime

TCP = ProbeSpec(protocol=ProbeProtocol.TCP)

# Prints a line, then waits; SIGTERM makes it say so and exit 0.
POLITE = """
import signal, sys, time
def bye(*_):
    print("got SIGTERM", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""

# Ignores SIGTERM: only SIGKILL ends it.
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""

# Starts a grandchild in the same process group and prints its pid.
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(f"ready child={child.pid}", flush=True)
time.sleep(60)
"""


def plan_of(code: str, env: dict[str, str] | None = None, port: int = 9) -> LaunchPlan:
    return LaunchPlan(
        argv=[sys.executable, "-c", code],
        env=env or {},
        host="127.0.0.1",
        port=port,
        readiness=TCP,
        liveness=TCP,
    )


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[LocalRuntime]:
    rt = LocalRuntime(tmp_path / "logs", isolation=ReplicaIsolation(tmp_path / "replicas"))
    yield rt
    for handle in list(_started(rt)):
        await rt.stop(handle, grace_seconds=0)


def _started(rt: LocalRuntime) -> list[ReplicaHandle]:
    # Test cleanup only: every process a runtime under test started, so none outlives the test.
    return [
        ReplicaHandle(backend="local", host="127.0.0.1", port=9, pid=pid, start_time=c.start_time)
        for pid, c in rt._children.items()
    ]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def logged(rt: LocalRuntime, handle: ReplicaHandle, text: str) -> None:
    async def has_text() -> bool:
        return text in await rt.read_logs(handle)

    await eventually(has_text)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):  # reaped meanwhile
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


async def test_started_process_runs_with_its_environment_and_logs_to_a_file(
    runtime: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTROL_PLANE_ONLY", "leak")
    code = (
        "import os; "
        "print('port', os.environ['PORT'], 'host', os.environ['HOST'], "
        "'user', os.environ['USER_VAR'], 'leak', os.environ.get('CONTROL_PLANE_ONLY'), "
        "'cwd', os.getcwd(), flush=True); "
        "import time; time.sleep(30)"
    )
    handle = await runtime.start("ep-r1-g1", plan_of(code, {"USER_VAR": "v1"}, port=4321))

    assert handle.backend == "local"
    assert (handle.host, handle.port) == ("127.0.0.1", 4321)
    assert handle.pid is not None and handle.start_time is not None
    assert handle.log_path == str(runtime.logs_dir / "ep-r1-g1.log")
    assert (await runtime.status(handle)).state is ProcessState.RUNNING
    # Its own private directory, outside the logs and the server home, is its cwd and HOME.
    assert handle.workdir is not None
    workdir = Path(handle.workdir)
    assert workdir.parent == runtime.isolation.base_dir
    assert workdir.name.startswith("ep-r1-g1-") and workdir.stat().st_mode & 0o777 == 0o700
    cwd = os.path.realpath(workdir)
    await logged(runtime, handle, f"port 4321 host 127.0.0.1 user v1 leak None cwd {cwd}")
    assert os.getpgid(handle.pid) == handle.pid  # its own process group

    await runtime.stop(handle, grace_seconds=5)
    assert not workdir.exists()  # removed with the replica: nothing of it lingers


async def test_exit_code_of_a_process_that_ended(runtime: LocalRuntime) -> None:
    handle = await runtime.start("ep-r2-g1", plan_of("import sys; sys.exit(3)"))

    async def exited() -> bool:
        return (await runtime.status(handle)).state is ProcessState.EXITED

    await eventually(exited)
    status = await runtime.status(handle)
    assert status.exit_code == 3
    assert not Path(f"/proc/{handle.pid}").exists()  # reaped, no zombie left


async def test_stop_sends_sigterm_first(runtime: LocalRuntime) -> None:
    handle = await runtime.start("ep-r3-g1", plan_of(POLITE))
    await logged(runtime, handle, "ready")

    await runtime.stop(handle, grace_seconds=10)

    assert "got SIGTERM" in await runtime.read_logs(handle)
    assert (await runtime.status(handle)).state is not ProcessState.RUNNING
    assert handle.pid is not None and not pid_alive(handle.pid)
    await runtime.stop(handle, grace_seconds=1)  # idempotent


async def test_stop_escalates_to_sigkill_after_the_grace_period(runtime: LocalRuntime) -> None:
    handle = await runtime.start("ep-r4-g1", plan_of(STUBBORN))
    await logged(runtime, handle, "ready")

    await runtime.stop(handle, grace_seconds=0.3)

    assert handle.pid is not None and not pid_alive(handle.pid)
    assert (await runtime.status(handle)).state is not ProcessState.RUNNING


async def test_stop_ends_the_whole_process_group(runtime: LocalRuntime) -> None:
    handle = await runtime.start("ep-r5-g1", plan_of(PARENT))
    await logged(runtime, handle, "ready child=")
    logs = await runtime.read_logs(handle)
    grandchild = int(logs.split("ready child=")[1].split()[0])
    assert pid_alive(grandchild)

    await runtime.stop(handle, grace_seconds=5)

    await eventually(lambda: _async(not pid_alive(grandchild)))


async def test_a_killed_process_is_not_running(runtime: LocalRuntime) -> None:
    handle = await runtime.start("ep-r6-g1", plan_of(STUBBORN))
    await logged(runtime, handle, "ready")
    assert handle.pid is not None
    os.kill(handle.pid, signal.SIGKILL)

    async def ended() -> bool:
        return (await runtime.status(handle)).state is not ProcessState.RUNNING

    await eventually(ended)
    status = await runtime.status(handle)
    assert status.state is ProcessState.EXITED
    assert status.exit_code == -signal.SIGKILL


async def test_a_reused_pid_is_missing_and_never_signalled(runtime: LocalRuntime) -> None:
    handle = await runtime.start("ep-r7-g1", plan_of(POLITE))
    await logged(runtime, handle, "ready")
    assert handle.start_time is not None
    # The same pid, but a process that started at another time: not our replica.
    stranger = handle.model_copy(update={"start_time": handle.start_time + 1})
    other_runtime = LocalRuntime(runtime.logs_dir)

    assert (await runtime.status(stranger)).state is ProcessState.MISSING
    assert (await other_runtime.status(stranger)).state is ProcessState.MISSING
    await runtime.stop(stranger, grace_seconds=0)
    await other_runtime.stop(stranger, grace_seconds=0)

    assert (await runtime.status(handle)).state is ProcessState.RUNNING
    assert "got SIGTERM" not in await runtime.read_logs(handle)


async def test_a_restarted_control_plane_adopts_and_stops_a_running_replica(
    runtime: LocalRuntime,
) -> None:
    handle = await runtime.start("ep-r8-g1", plan_of(POLITE))
    await logged(runtime, handle, "ready")

    restarted = LocalRuntime(runtime.logs_dir)  # knows nothing but the stored handle
    assert (await restarted.status(handle)).state is ProcessState.RUNNING
    assert "ready" in await restarted.read_logs(handle)

    await restarted.stop(handle, grace_seconds=10)

    assert "got SIGTERM" in await restarted.read_logs(handle)
    assert (await restarted.status(handle)).state is ProcessState.MISSING
    assert (await runtime.status(handle)).state is ProcessState.EXITED


async def test_status_of_an_unknown_pid_is_missing(runtime: LocalRuntime) -> None:
    never = ReplicaHandle(backend="local", host="127.0.0.1", port=9, pid=None)
    gone = ReplicaHandle(backend="local", host="127.0.0.1", port=9, pid=2**22 + 7, start_time=1)

    assert (await runtime.status(never)).state is ProcessState.MISSING
    assert (await runtime.status(gone)).state is ProcessState.MISSING
    await runtime.stop(gone, grace_seconds=0)


def test_addresses_are_free_and_never_repeat_within_the_hold_window(tmp_path: Path) -> None:
    rt = LocalRuntime(tmp_path)
    addresses = [rt.address() for _ in range(300)]

    assert {host for host, _ in addresses} == {"127.0.0.1"}
    ports = [port for _, port in addresses]
    assert len(set(ports)) == len(ports)
    with socket.socket() as sock:
        sock.bind(addresses[-1])  # free: an engine can listen there


async def test_a_missing_executable_is_a_permanent_error(runtime: LocalRuntime) -> None:
    plan = plan_of("").model_copy(update={"argv": ["no-such-engine-binary", "--port", "1"]})

    with pytest.raises(PermanentError, match="no-such-engine-binary"):
        await runtime.start("ep-r9-g1", plan)


async def test_exec_probe_reports_exit_status_and_timeouts(runtime: LocalRuntime) -> None:
    handle = await runtime.start("ep-r10-g1", plan_of(POLITE, port=5555))
    python = sys.executable

    assert await runtime.exec_probe(handle, [python, "-c", "pass"], timeout=10)
    assert not await runtime.exec_probe(handle, [python, "-c", "raise SystemExit(1)"], 10)
    check_port = "import os, sys; sys.exit(os.environ['PORT'] != '5555')"
    assert await runtime.exec_probe(handle, [python, "-c", check_port], timeout=10)
    assert not await runtime.exec_probe(handle, ["no-such-probe-binary"], timeout=10)
    assert not await runtime.exec_probe(handle, ["sleep", "30"], timeout=0.2)


async def test_hung_exec_probes_hold_no_thread_and_cancelled_ones_are_killed(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    """The controller runs probes side by side: hung exec probes, more than the default
    executor has threads, must leave it free for the store calls that share it."""
    handle = await runtime.start("ep-r12-g1", plan_of(POLITE))
    count = min(32, (os.cpu_count() or 1) + 4) + 2  # asyncio's default executor size, plus 2
    pidfiles = [tmp_path / f"probe-{i}.pid" for i in range(count)]
    hang = ["sh", "-c", 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0" && exec sleep 60']
    probes = [
        asyncio.create_task(runtime.exec_probe(handle, [*hang, str(f)], timeout=60))
        for f in pidfiles
    ]

    async def all_hanging() -> bool:
        return all(f.exists() for f in pidfiles)

    await eventually(all_hanging, timeout=60)
    pids = [int(f.read_text()) for f in pidfiles]
    assert await asyncio.to_thread(lambda: "a store call") == "a store call"
    assert all(pid_alive(pid) for pid in pids), "it did not wait for the hung probes to end"
    assert not any(p.done() for p in probes)
    for probe in probes:
        probe.cancel()
    await asyncio.gather(*probes, return_exceptions=True)

    async def all_gone() -> bool:
        return not any(pid_alive(pid) for pid in pids)

    await eventually(all_gone)


async def test_read_logs_returns_the_tail(runtime: LocalRuntime) -> None:
    code = "print('a' * 5000 + 'THE-END', flush=True)"
    handle = await runtime.start("ep-r11-g1", plan_of(code))
    await logged(runtime, handle, "THE-END")

    tail = await runtime.read_logs(handle, tail_bytes=100)

    assert tail.endswith("THE-END\n") and len(tail) == 100


def test_gpu_inventory_is_a_count_by_name(tmp_path: Path) -> None:
    inventory = LocalRuntime(tmp_path).gpu_inventory()

    assert all(isinstance(n, str) and count > 0 for n, count in inventory.items())
    two_kinds = (
        "NVIDIA H100 80GB HBM3, 81559\nNVIDIA H100 80GB HBM3, 81559\nNVIDIA L4, 23034\n"
        "NVIDIA A10, [N/A]\n\n"
    )
    assert parse_gpu_names(two_kinds) == {
        "NVIDIA H100 80GB HBM3 (80GB)": 2,
        "NVIDIA L4 (22GB)": 1,
        "NVIDIA A10": 1,
    }


async def _async(value: bool) -> bool:
    return value


async def test_a_replica_outlives_the_control_plane_that_started_it(tmp_path: Path) -> None:
    # A separate control-plane process starts a replica, prints its handle and exits.
    control_plane = f"""
import asyncio, sys
from pathlib import Path
from modelport.domain.launch import LaunchPlan
from modelport.domain.specs import ProbeSpec
from modelport.runtime.local import LocalRuntime

async def main() -> None:
    plan = LaunchPlan(
        argv=[sys.executable, "-c", {POLITE!r}], host="127.0.0.1", port=9,
        readiness=ProbeSpec(protocol="tcp"), liveness=ProbeSpec(protocol="tcp"),
    )
    handle = await LocalRuntime(Path({str(tmp_path)!r})).start("ep-r12-g1", plan)
    print(handle.model_dump_json())

asyncio.run(main())
"""
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-c", control_plane, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await done.communicate()
    assert done.returncode == 0
    handle = ReplicaHandle.model_validate_json(out)

    restarted = LocalRuntime(tmp_path)
    await logged(restarted, handle, "ready")
    assert (await restarted.status(handle)).state is ProcessState.RUNNING

    await restarted.stop(handle, grace_seconds=10)

    assert "got SIGTERM" in await restarted.read_logs(handle)
    assert (await restarted.status(handle)).state is ProcessState.MISSING


async def test_a_replica_across_nodes_is_refused_naming_the_field(tmp_path: Path) -> None:
    """Only Ray spans nodes: on this host only the first node's engine would start, waiting for
    its peers forever."""
    rt = LocalRuntime(tmp_path / "logs")
    resources = Resources(gpu_count=2, nodes=2)
    with pytest.raises(PermanentError, match=r"resources\.nodes: 2 nodes need the ray runtime"):
        await rt.place("ep-r1-g1", resources)
    assert (await rt.place("ep-r1-g1", Resources())).host == "127.0.0.1"
