"""runtime/ray_guard.py with real processes: the engine under the guard ends when the watched
(actor) process is gone, a stop of the group ends both, and the engine's exit is the guard's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from modelport.runtime.ray_guard import guarded, start_time

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _in_session(argv: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, start_new_session=True)  # as LocalRuntime starts a replica


def _session_members(sid: int) -> set[int]:
    members = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                members.add(int(entry))
    return members


def _wait(condition: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def actor() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(SLEEPER)
    yield process
    process.kill()
    process.wait()


def test_the_engine_ends_when_its_actor_process_dies(actor: subprocess.Popen[bytes]) -> None:
    guard = _in_session(guarded(SLEEPER, actor.pid))
    assert _wait(lambda: len(_session_members(guard.pid)) == 2)  # guard + engine
    actor.kill()
    actor.wait()
    assert guard.wait(timeout=20) == -signal.SIGKILL  # the guard ends its whole group
    assert _wait(lambda: not _session_members(guard.pid)), _session_members(guard.pid)


def test_a_stop_of_the_group_ends_both_with_the_engines_status(
    actor: subprocess.Popen[bytes],
) -> None:
    guard = _in_session(guarded(SLEEPER, actor.pid))
    assert _wait(lambda: len(_session_members(guard.pid)) == 2)
    os.killpg(guard.pid, signal.SIGTERM)
    assert guard.wait(timeout=20) == 128 + signal.SIGTERM
    assert _wait(lambda: not _session_members(guard.pid))
    assert actor.poll() is None  # the actor is not touched


def test_the_engines_exit_code_is_the_guards(actor: subprocess.Popen[bytes]) -> None:
    done = _in_session(guarded([sys.executable, "-c", "raise SystemExit(3)"], actor.pid))
    assert done.wait(timeout=20) == 3
    missing = _in_session(guarded(["/no/such/engine"], actor.pid))
    assert missing.wait(timeout=20) == 127


def test_a_reused_pid_is_not_the_actor(actor: subprocess.Popen[bytes]) -> None:
    started = start_time(actor.pid)
    assert started is not None
    argv = guarded(SLEEPER, actor.pid)
    argv[argv.index(str(started))] = str(started + 1)  # as if the pid now named another process
    guard = _in_session(argv)
    assert guard.wait(timeout=20) == -signal.SIGKILL  # the guard ends its whole group
