"""Replicas as local processes: one process group per replica, output appended to a log file.

A replica outlives the control plane that started it (own session, output to a file, never a
pipe), so a restarted control plane adopts it by pid; /proc start times guard against pid reuse.
Each replica runs in its own private directory and, as root, as an unprivileged user
(runtime/isolation.py); root may still signal it, so stop and adoption work as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from modelport.domain.errors import PermanentError, TemporaryError
from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import Resources, RuntimeKind
from modelport.runtime.base import ProcessState, ProcessStatus, on_one_host, only_backend
from modelport.runtime.cpu import tree_cpu_seconds
from modelport.runtime.gpus import query_gpus
from modelport.runtime.isolation import Placement, ReplicaIsolation
from modelport.runtime.logfile import tail
from modelport.runtime.ports import PortAllocator
from modelport.runtime.procinfo import (
    group_has_live_members,
    is_same_live_process,
    start_time_of,
)

log = logging.getLogger("modelport.runtime.local")

_INHERITED_ENV = ("PATH", "LANG", "VIRTUAL_ENV")
_REPLICA_USER_NAME = "modelport-replica"  # USER / LOGNAME for a uid with no passwd entry
_POLL_SECONDS = 0.05
_REAP_SECONDS = 2.0  # after SIGKILL, how long to wait for the kernel to end the group
_FORGET_EXITED_SECONDS = 600.0  # exit codes of children nobody stopped are kept this long

RUNNING = ProcessStatus(state=ProcessState.RUNNING)
MISSING = ProcessStatus(state=ProcessState.MISSING)


@dataclass
class _Child:
    popen: subprocess.Popen[bytes]
    start_time: int | None
    exit_seen_at: float | None = None  # monotonic time status() first saw it exited


class LocalRuntime:
    name = "local"

    def __init__(
        self, logs_dir: Path, host: str = "127.0.0.1", isolation: ReplicaIsolation | None = None
    ) -> None:
        self.logs_dir = logs_dir
        self.host = host
        self.isolation = isolation or ReplicaIsolation()
        self._ports = PortAllocator(host)
        self._children: dict[int, _Child] = {}  # processes this instance started, by pid
        self._gpus: dict[str, int] | None = None

    # --- RuntimeBackend -------------------------------------------------------------------
    def select(self, kind: RuntimeKind | None) -> LocalRuntime:
        return only_backend(self, kind)

    def address(self) -> tuple[str, int]:
        return self.host, self._ports.allocate()

    async def place(self, replica_key: str, resources: Resources) -> Slot:
        on_one_host(self.name, resources)
        host, port = self.address()
        return Slot(host=host, port=port)

    async def release(self, replica_key: str) -> None:
        return None  # place() holds nothing: the port is only chosen

    async def start(self, replica_key: str, plan: LaunchPlan) -> ReplicaHandle:
        if not plan.argv:
            raise PermanentError(
                "the launch plan has no command (an image alone needs the docker runtime)"
            )
        if "/" in replica_key or replica_key in {"", ".", ".."}:
            raise ValueError(f"replica key {replica_key!r} is not a valid file name")
        self._forget_old_exits()
        self.logs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        log_path = self.logs_dir / f"{replica_key}.log"
        if plan.workdir and not await asyncio.to_thread(os.path.isdir, plan.workdir):
            raise PermanentError(f"workdir {plan.workdir!r} is not a directory on this host")
        placement = await asyncio.to_thread(self.isolation.place, replica_key)
        try:
            env = _environment(plan.env, plan.host, plan.port, placement)
            self.isolation.check_can_run(plan.argv[0], placement, env.get("PATH"))
            # The server opens the log (in its own 0700 logs dir) and hands the replica only
            # the open file.
            fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "ab") as log_file:
                stamp = datetime.now(UTC).isoformat(timespec="seconds")
                # argv may carry secrets (an --api-key): name the program only.
                log_file.write(f"--- modelport: {stamp} starting {plan.argv[0]} ---\n".encode())
                log_file.flush()
                cwd = Path(plan.workdir) if plan.workdir else placement.workdir
                popen = _spawn(plan, env, cwd, placement, log_file)
        except BaseException:
            self.isolation.release(str(placement.workdir))
            raise
        start_time = start_time_of(popen.pid)
        self._children[popen.pid] = _Child(popen, start_time)
        log.info(
            "started %s as pid %d, uid %s, in %s (logs: %s)",
            replica_key, popen.pid, "server" if placement.uid is None else placement.uid,
            placement.workdir, log_path,
        )  # fmt: skip
        return ReplicaHandle(
            backend=self.name,
            host=plan.host,
            port=plan.port,
            pid=popen.pid,
            start_time=start_time,
            log_path=str(log_path),
            workdir=str(placement.workdir),
            uid=placement.uid,
            gid=placement.gid,
        )

    async def status(self, handle: ReplicaHandle) -> ProcessStatus:
        child = self._own_child(handle)
        if child is not None:
            code = child.popen.poll()  # reaps a zombie of ours
            if code is None:
                return RUNNING
            if child.exit_seen_at is None:
                child.exit_seen_at = time.monotonic()
                await self._release(handle)  # a crashed replica's directory (and uid) is free
            return ProcessStatus(state=ProcessState.EXITED, exit_code=code)
        if handle.pid is not None and is_same_live_process(handle.pid, handle.start_time):
            return RUNNING  # adopted: started by an earlier control plane
        await self._release(handle)
        return MISSING

    async def stop(self, handle: ReplicaHandle, grace_seconds: float) -> None:
        pid = handle.pid
        if pid is None:
            return
        child = self._own_child(handle)
        if child is None and not is_same_live_process(pid, handle.start_time):
            await self._release(handle)
            return  # already gone, or the pid now belongs to someone else: never signal it
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + max(grace_seconds, 0.0)
        while not self._group_gone(pid, child) and time.monotonic() < deadline:
            await asyncio.sleep(_POLL_SECONDS)
        if not self._group_gone(pid, child):
            log.warning(
                "pid %d did not exit %gs after SIGTERM; sending SIGKILL", pid, grace_seconds
            )
            _signal_group(pid, signal.SIGKILL)
            deadline = time.monotonic() + _REAP_SECONDS
            while not self._group_gone(pid, child) and time.monotonic() < deadline:
                await asyncio.sleep(_POLL_SECONDS)
        if child is not None:
            self._children.pop(pid, None)
        if self._group_gone(pid, child):
            await self._release(handle)

    async def exec_probe(self, handle: ReplicaHandle, argv: list[str], timeout: float) -> bool:
        if not argv:
            return False
        # Beside the replica: as its user, in its directory (never as the server's user).
        placement = Placement(
            Path(handle.workdir) if handle.workdir else self.isolation.base_dir,
            handle.uid,
            handle.gid,
        )
        try:
            # subprocess, not asyncio's: uvloop's subprocess_exec takes no user/group arguments.
            proc = await asyncio.to_thread(
                functools.partial(
                    subprocess.Popen,
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=_environment({}, handle.host, handle.port, placement),
                    cwd=placement.workdir,
                    start_new_session=True,  # a timed-out probe is killed with its children
                    close_fds=True,
                    **_as_user(placement),
                )
            )
        except OSError as exc:
            log.debug("exec probe %s could not run: %s", argv[0], exc)
            return False
        try:
            code = await _exit_code(proc, timeout)
        finally:
            if proc.returncode is None:  # timed out, or the probe was cancelled
                _signal_group(proc.pid, signal.SIGKILL)
                # Reaped beside the loop: a thread waits only until the SIGKILL lands.
                asyncio.get_running_loop().run_in_executor(None, proc.wait)
        return code == 0

    async def read_logs(self, handle: ReplicaHandle, tail_bytes: int = 64_000) -> str:
        if handle.log_path is None:
            return ""
        return await asyncio.to_thread(tail, Path(handle.log_path), tail_bytes)

    async def cpu_seconds(self, handles: Sequence[ReplicaHandle]) -> list[float | None]:
        return await asyncio.to_thread(_cpu_seconds, list(handles))

    def gpu_inventory(self) -> dict[str, int]:
        if self._gpus is None:
            self._gpus = query_gpus()
        return dict(self._gpus)

    # --- helpers --------------------------------------------------------------------------
    async def _release(self, handle: ReplicaHandle) -> None:
        if handle.workdir is not None:
            await asyncio.to_thread(self.isolation.release, handle.workdir)

    def _own_child(self, handle: ReplicaHandle) -> _Child | None:
        """Our Popen for this handle; None for adopted pids and for a pid reused since."""
        if handle.pid is None:
            return None
        child = self._children.get(handle.pid)
        if child is None or child.start_time != handle.start_time:
            return None
        return child

    def _group_gone(self, pid: int, child: _Child | None) -> bool:
        if child is not None and child.popen.poll() is None:
            return False  # the leader runs (poll() also reaps it once it exits)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return not group_has_live_members(pid)  # only zombies left, or nothing

    def _forget_old_exits(self) -> None:
        now = time.monotonic()
        for pid, child in list(self._children.items()):
            seen = child.exit_seen_at
            if seen is not None and now - seen > _FORGET_EXITED_SECONDS:
                del self._children[pid]


def _environment(
    extra: dict[str, str], host: str, port: int, placement: Placement
) -> dict[str, str]:
    env = {k: os.environ[k] for k in _INHERITED_ENV if k in os.environ}
    env["PYTHONUNBUFFERED"] = "1"  # engine output reaches the log as it happens
    # Caches and temporary files stay in the replica's own directory, not the server's home.
    env["HOME"] = env["TMPDIR"] = str(placement.workdir)
    if placement.uid is not None:
        env["USER"] = env["LOGNAME"] = placement.user_name or _REPLICA_USER_NAME
    env.update(extra)
    env["HOST"] = host
    env["PORT"] = str(port)
    return env


def _as_user(placement: Placement) -> dict[str, Any]:
    """Popen arguments that drop to the replica's uid and gid, with no supplementary groups
    (root's would otherwise be kept). A bare uid with no passwd entry works."""
    if placement.uid is None:
        return {}
    return {"user": placement.uid, "group": placement.gid, "extra_groups": []}


def _spawn(
    plan: LaunchPlan, env: dict[str, str], cwd: Path, placement: Placement, log_file: IO[bytes]
) -> subprocess.Popen[bytes]:
    try:
        return subprocess.Popen(
            plan.argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # own process group: survives us, is killed as a group
            close_fds=True,
            umask=0o077,  # what the replica writes is its own
            **_as_user(placement),
        )
    except (FileNotFoundError, PermissionError) as exc:
        raise PermanentError(
            f"cannot run {plan.argv[0]!r}: {exc.strerror or exc} "
            "(is the engine installed on this host and on PATH?)"
        ) from exc
    except OSError as exc:  # out of memory, too many processes: may pass
        raise TemporaryError(f"cannot start {plan.argv[0]!r} now: {exc}", delay=5.0) from exc


async def _exit_code(proc: subprocess.Popen[Any], timeout: float) -> int | None:
    """The exit code once `proc` ends, None if it still runs after `timeout`. Waits on a pidfd,
    not in a thread: probes run side by side (controller/probes.py) and hung ones must not
    fill the default executor that store calls share."""
    loop = asyncio.get_running_loop()
    pidfd = os.pidfd_open(proc.pid)
    ended: asyncio.Future[None] = loop.create_future()

    def readable() -> None:  # the pidfd turns readable once the process has ended
        if not ended.done():
            ended.set_result(None)

    loop.add_reader(pidfd, readable)
    try:
        async with asyncio.timeout(timeout):
            await ended
    except TimeoutError:
        return None
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return proc.wait()  # it has ended: reaps at once


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group `pid` leads (every replica is a session leader, so its group id
    is its pid, and a group id is not reused while any member lives). Gone already is fine."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        # Callers checked that `pid` is still our replica; signal at least the process itself.
        log.warning("cannot signal the process group of pid %d; signalling the pid", pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _cpu_seconds(handles: list[ReplicaHandle]) -> list[float | None]:
    """One thread hop for all: a few /proc reads per replica (runtime/cpu.py)."""
    return [None if h.pid is None else tree_cpu_seconds(h.pid, h.start_time) for h in handles]
