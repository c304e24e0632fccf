"""Every server publishes its gateway load once a tick, for whichever controller leads.

One upsert of this server's row a tick (store/loads.py), skipped when nothing changed and
nothing is in flight, so an idle server writes nothing. A held request (`demand`) publishes at
once instead of at the next tick, so the leader wakes the endpoint within about a tick. A server
that stops withdraws its row; a killed one's row ages out on the reading side.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from modelport.clock import Clock
from modelport.gateway.load_ledger import LoadLedger
from modelport.store.loads import LoadStore, ServerLoad

log = logging.getLogger(__name__)

MIN_GAP = 0.05  # a burst of held requests is one write per this, not one per request


class LoadPublisher:
    def __init__(
        self, store: LoadStore, clock: Clock, server: str, ledger: LoadLedger, interval: float
    ) -> None:
        self._store = store
        self._clock = clock
        self.server = server
        self._ledger = ledger
        self._interval = interval
        self._written: ServerLoad | None = None
        self._soon = asyncio.Event()

    def demand(self, _endpoint_id: int) -> None:
        """A request is held here for an endpoint with no READY replica: publish now. Call it
        on the loop's thread."""
        self._soon.set()

    async def publish(self) -> bool:
        """Sample the ledger and write this server's row if it says something new; True if
        written."""
        self._ledger.sample(self._clock.monotonic())
        load = self._ledger.snapshot()
        if load == self._written and not load.busy:
            return False
        seq = self._ledger.seq + 1
        await asyncio.to_thread(self._store.publish_load, self.server, seq, load, self._clock.now())
        self._ledger.published(load)
        self._written = load
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Publish every interval (or at once on demand) until `stop`; then withdraw."""
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                began = loop.time()
                self._soon.clear()
                try:
                    await self.publish()
                except Exception:
                    log.exception("could not publish this server's load; trying again next tick")
                await self._pause(stop)
                await asyncio.sleep(max(0.0, began + MIN_GAP - loop.time()))
        finally:
            with contextlib.suppress(Exception):  # the database may be gone: rows age out
                await asyncio.to_thread(self._store.withdraw_load, self.server)

    async def _pause(self, stop: asyncio.Event) -> None:
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._soon.wait())]
        try:
            await asyncio.wait(waits, timeout=self._interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()
