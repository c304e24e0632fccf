"""What the server's processes tell each other (`--gateway-workers N`): a few bytes, no broker.

Each process binds a Linux abstract Unix datagram socket named after the server run and its slot
and reads it on its event loop. Three messages:

- FRESH v: "read the store again, then say so": the process asks its route table for a table
  read after now (`RouteTable.fresh`) and publishes `v` in its shared slot once it is in place;
- ROUTES: "the routes changed" (the controller moved a replica into or out of READY): refresh soon;
- POKE endpoint id: "a request is held for this endpoint" (to the main process, whose
  controller starts a replica without waiting for a tick).

`wait_fresh` is what the management API calls after a change the routes show, on whichever
process served it: it stamps the change with the system-wide monotonic clock (taken after the
write committed), asks every process for a fresh table and waits until each live one publishes
a stamp at least as new. A table read after the stamp was taken shows the write, so a client's
next request finds the endpoint on any process, as with one process (at most 2 s; a slow or dead
process ends the wait at the timeout, and its periodic refresh catches up).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import socket
import time
from collections.abc import Callable

from modelport.gateway.routes import FRESH_TIMEOUT, RouteTable
from modelport.gateway.shared_counts import SharedCounts

log = logging.getLogger("modelport.server.peers")

MAIN_SLOT = 0  # the main process: the controller, the invocation workers, the supervisor
_POLL_SECONDS = 0.002  # how often a waiting API thread looks at the other processes' stamps


class Message(bytes, enum.Enum):
    FRESH = b"F"
    ROUTES = b"R"
    POKE = b"P"


class PeerLink:
    def __init__(
        self,
        run_id: str,
        slot: int,
        counts: SharedCounts,
        routes: RouteTable,
        on_poke: Callable[[int], None] = lambda _endpoint_id: None,
    ) -> None:
        self._run_id = run_id
        self._slot = slot
        self._counts = counts
        self._routes = routes
        self._on_poke = on_poke
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(self._address(slot))
        self._socket.setblocking(False)
        self._sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sender.setblocking(False)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _address(self, slot: int) -> str:
        return f"\0modelport-{self._run_id}-{slot}"

    # --- lifecycle (on the loop) ------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._socket.fileno(), self._readable)

    def close(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._socket.fileno())
        for task in self._tasks:
            task.cancel()
        self._socket.close()
        self._sender.close()

    # --- sending (any thread) ---------------------------------------------------------------
    def send(self, slot: int, message: Message, value: int = 0) -> None:
        data = message.value + str(value).encode()
        # Gone (a worker restarting) or its buffer full: the periodic refresh covers it.
        with contextlib.suppress(OSError):
            self._sender.sendto(data, self._address(slot))

    def broadcast(self, message: Message, value: int = 0) -> None:
        """To every other live process."""
        for slot in self._counts.live():
            if slot != self._slot:
                self.send(slot, message, value)

    def poke(self, endpoint_id: int) -> None:
        """A request here is held for this endpoint: wake the main process's controller."""
        self.send(MAIN_SLOT, Message.POKE, endpoint_id)

    def routes_changed(self) -> None:
        """The controller moved a replica into or out of READY: every process refreshes."""
        self._routes.refresh_soon()
        self.broadcast(Message.ROUTES)

    def wait_fresh(self, timeout: float = FRESH_TIMEOUT) -> None:
        """From an API worker thread, after a committed change: until every live process's
        route table was read after it (see the module docstring)."""
        deadline = time.monotonic() + timeout
        stamp = time.monotonic_ns()
        self.broadcast(Message.FRESH, stamp)
        self._routes.wait_fresh(timeout)  # this process's own table (on the loop: only asks)
        if self._on_loop():
            return  # blocking here would stall this process's refresh: asking is all it can do
        counts, slot = self._counts, self._slot
        while time.monotonic() < deadline:
            if all(counts.fresh(s) >= stamp for s in counts.live() if s != slot):
                return
            time.sleep(_POLL_SECONDS)
        log.warning("a gateway process did not refresh its routes within %.1fs", timeout)

    def _on_loop(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    # --- receiving (on the loop) ------------------------------------------------------------
    def _readable(self) -> None:
        newest = 0
        while True:
            try:
                data = self._socket.recv(64)
            except (BlockingIOError, InterruptedError):
                break
            kind, value = data[:1], data[1:]
            if kind == Message.FRESH.value:
                newest = max(newest, int(value))
            elif kind == Message.ROUTES.value:
                self._routes.refresh_soon()
            elif kind == Message.POKE.value:
                self._on_poke(int(value))
        if newest:
            task = asyncio.ensure_future(self._fresh(newest))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _fresh(self, stamp: int) -> None:
        try:
            await asyncio.wait_for(self._routes.fresh(), FRESH_TIMEOUT)
        except TimeoutError:
            return
        self._counts.publish_fresh(self._slot, stamp)
