"""CPU seconds of local replicas, read from /proc: the leader, its live workers, reaped ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from modelport.domain.records import ReplicaHandle
from modelport.runtime.base import ProcessState
from modelport.runtime.isolation import ReplicaIsolation
from modelport.runtime.local import LocalRuntime
from tests.unit.runtime.test_local_runtime import _started, logged, plan_of

BURN_SECONDS = 0.5  # CPU seconds (the process's own clock, not wall time: load does not matter)

# Burns CPU in a loop until its own CPU clock has advanced by `seconds`.
BURN = f"""
import time
def burn(seconds={BURN_SECONDS}):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
"""

# Waits for the file named by GO, then burns, says so, and idles.
LEADER_BURNS = (
    BURN
    + """
import os, pathlib
print("ready", flush=True)
while not pathlib.Path(os.environ["GO"]).exists():
    time.sleep(0.02)
burn()
print("burned", flush=True)
time.sleep(60)
"""
)

# A worker burns and idles (counted while alive); the leader only waits.
WORKER_BURNS = f"""
import subprocess, sys, time
code = {BURN!r} + "burn(); print('worker burned', flush=True); time.sleep(60)"
subprocess.Popen([sys.executable, "-c", code])
time.sleep(60)
"""

# A worker burns and exits; the leader reaps it (its time moves into the leader's counters).
WORKER_REAPED = f"""
import subprocess, sys, time
code = {BURN!r} + "burn()"
subprocess.run([sys.executable, "-c", code], check=True)
print("worker reaped", flush=True)
time.sleep(60)
"""


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[LocalRuntime]:
    rt = LocalRuntime(tmp_path / "logs", isolation=ReplicaIsolation(tmp_path / "replicas"))
    yield rt
    for handle in _started(rt):  # so no process outlives the test
        await rt.stop(handle, grace_seconds=0)


async def cpu_of(rt: LocalRuntime, handle: ReplicaHandle) -> float:
    [seconds] = await rt.cpu_seconds([handle])
    assert seconds is not None
    return seconds


async def test_the_counter_grows_by_what_the_replica_burned(
    runtime: LocalRuntime, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    handle = await runtime.start("burner", plan_of(LEADER_BURNS, {"GO": str(go)}))
    await logged(runtime, handle, "ready")
    before = await cpu_of(runtime, handle)

    go.touch()
    await logged(runtime, handle, "burned")
    after = await cpu_of(runtime, handle)
    assert after - before >= BURN_SECONDS - 0.05  # /proc counts in ticks of 10 ms


async def test_a_live_worker_of_the_replica_counts(runtime: LocalRuntime) -> None:
    handle = await runtime.start("workers", plan_of(WORKER_BURNS))
    await logged(runtime, handle, "worker burned")
    assert await cpu_of(runtime, handle) >= BURN_SECONDS - 0.05


async def test_a_reaped_worker_still_counts(runtime: LocalRuntime) -> None:
    handle = await runtime.start("reaper", plan_of(WORKER_REAPED))
    await logged(runtime, handle, "worker reaped")
    assert await cpu_of(runtime, handle) >= BURN_SECONDS - 0.05


async def test_a_gone_or_reused_process_or_no_pid_cannot_be_told(runtime: LocalRuntime) -> None:
    handle = await runtime.start("short", plan_of("print('bye')"))
    assert handle.pid is not None and handle.start_time is not None
    reused = handle.model_copy(update={"start_time": handle.start_time + 1})
    no_pid = handle.model_copy(update={"pid": None})
    seconds = await runtime.cpu_seconds([reused, no_pid])
    assert seconds == [None, None]

    await logged(runtime, handle, "bye")
    deadline = time.monotonic() + 30.0
    while (await runtime.status(handle)).state is ProcessState.RUNNING:  # reaps it
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    assert await runtime.cpu_seconds([handle]) == [None]
