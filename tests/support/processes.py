"""Which process of a `modelport server --gateway-workers N` a connection reached.

A new connection lands on whichever process the kernel chooses (SO_REUSEPORT); `/proc` says
which one accepted it, so `connect_to` opens connections until one is owned by the wanted
process. Tests use it to put requests on a chosen process and check what the processes share.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import time
from pathlib import Path

from tests.support.server import ServerProcess


def main_pid(srv: ServerProcess) -> int:
    assert srv.proc is not None
    return srv.proc.pid


def workers_of(main: int) -> list[int]:
    """The worker processes the main process spawned (not its replicas)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == main and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


def owner(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """The process holding the server side of the connection from `client_port`."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
    return None


def server_pids(srv: ServerProcess) -> list[int]:
    return [main_pid(srv), *workers_of(main_pid(srv))]


def connect_to(srv: ServerProcess, pid: int, timeout: float = 60) -> http.client.HTTPConnection:
    """A keep-alive connection accepted by process `pid` (a starting one listens once ready)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        conn.request("GET", "/healthz")
        conn.getresponse().read()  # accepted and answered: the server side exists now
        if owner(srv.port, conn.sock.getsockname()[1], server_pids(srv)) == pid:
            return conn
        conn.close()
    raise AssertionError(f"no connection landed on process {pid} within {timeout:g}s")


def serving_pair(srv: ServerProcess, timeout: float = 90) -> tuple[int, int]:
    """(main pid, a worker pid), once that worker serves the port."""
    main = main_pid(srv)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in workers_of(main):
            with contextlib.suppress(AssertionError):
                connect_to(srv, worker, timeout=2).close()
                return main, worker
        time.sleep(0.1)
    raise AssertionError(f"no worker serves; server log:\n{srv.log_path.read_text()[-3000:]}")
