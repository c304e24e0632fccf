"""Gateway worker processes (`modelport server --gateway-workers N`): N processes on one port.

Each process binds its own listening socket to the same address with SO_REUSEPORT (the kernel
spreads new connections over them) and runs its own uvicorn with the fast protocol, serving
gateway and management API paths alike. The main process (slot 0) also runs the controller and,
through `Supervisor`, starts the N-1 workers (spawned, so none inherits the main process's loop
or threads), restarts one that crashes (after a short backoff, its shared counts cleared first:
nothing it had in flight holds a drain back or a token's concurrency, and its in-flight
gauges leave /metrics) and stops them on shutdown. A worker dies with the
main process (PR_SET_PDEATHSIG), however that ends.

A worker's socket starts listening only when its server is ready (asyncio listens when it starts
serving), so the kernel never queues a connection on a process still starting.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import socket
from dataclasses import dataclass
from multiprocessing.process import BaseProcess

from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.shared_counts import Layout, SharedCounts
from modelport.settings import Settings

log = logging.getLogger("modelport.server.workers")

_PR_SET_PDEATHSIG = 1
_POLL_SECONDS = 0.2  # how often the supervisor looks for a worker that exited
_BACKOFF_FIRST, _BACKOFF_MAX = 0.5, 30.0  # restart delays of a worker that keeps crashing
_STOP_GRACE = 8.0  # SIGTERM -> SIGKILL for a worker on shutdown


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound, not yet listening, shared with the other processes on the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def claim_port(host: str, port: int) -> int:
    """Fail as a single process would when the port is taken (SO_REUSEPORT alone would share
    it with another server of the same user); the port bound (`port` 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Team:
    """This process among the server's gateway processes (`--gateway-workers N`, N > 1)."""

    run_id: str  # names the processes' sockets (server/peers.py)
    slot: int  # 0: the main process (controller, supervisor); 1..N-1: workers
    layout: Layout  # the shared counts segment (gateway/shared_counts.py)


class Supervisor:
    """Starts the workers of slots 1..N-1 and keeps them running until `stop`."""

    def __init__(self, settings: Settings, team: Team, counts: SharedCounts) -> None:
        self._settings = settings
        self._team = team
        self._counts = counts
        self._context = multiprocessing.get_context("spawn")
        self._workers: dict[int, BaseProcess] = {}
        self._backoff: dict[int, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        for slot in range(1, self._team.layout.slots):
            self._start(slot)
        due: dict[int, float] = {}  # slot -> loop time its restart is due
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            for slot, process in list(self._workers.items()):
                if slot in due or process.is_alive():
                    continue
                self._counts.clear(slot)  # its requests are gone with it
                if process.pid is not None:  # so are its gauges in /metrics
                    GatewayMetrics.process_gone(self._team.layout.metrics_folder, process.pid)
                if process.exitcode == 0:  # asked to stop (e.g. Ctrl-C reached it): leave it
                    del self._workers[slot]
                    continue
                delay = self._backoff.get(slot, _BACKOFF_FIRST)
                self._backoff[slot] = min(delay * 2, _BACKOFF_MAX)
                log.error(
                    "gateway worker %d (pid %s) exited with %s; restarting it in %.1fs",
                    slot, process.pid, process.exitcode, delay,
                )  # fmt: skip
                due[slot] = loop.time() + delay
            for slot, at in list(due.items()):
                if at <= loop.time():
                    del due[slot]
                    self._start(slot)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), _POLL_SECONDS)

    def _start(self, slot: int) -> None:
        team = Team(self._team.run_id, slot, self._team.layout)
        process = self._context.Process(
            target=worker_main,
            args=(self._settings, team, os.getpid()),
            name=f"modelport-gateway-{slot}",
            daemon=True,
        )
        process.start()
        self._workers[slot] = process
        log.info("gateway worker %d started (pid %s)", slot, process.pid)

    def pids(self) -> dict[int, int | None]:
        return {slot: process.pid for slot, process in self._workers.items()}

    async def stop_all(self) -> None:
        """SIGTERM each (uvicorn's graceful shutdown), SIGKILL what is left after a grace."""
        workers = list(self._workers.values())
        self._workers.clear()
        for process in workers:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGTERM)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STOP_GRACE
        while any(p.is_alive() for p in workers) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for process in workers:
            if process.is_alive():
                process.kill()
            process.join(1)


def worker_main(settings: Settings, team: Team, parent: int) -> None:
    """A spawned worker process: serve the port until told to stop or the main process ends."""
    _die_with(parent)
    from modelport.server.main import serve_process

    serve_process(settings, team)


def _die_with(parent: int) -> None:
    """SIGTERM this process when the main process ends, even by SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it ended before the line above
        os._exit(0)
