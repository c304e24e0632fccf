"""One coroutine parked until a protocol callback says there is something to look at.

Shared by the upstream connection and the fast-path exchange: both run their byte handling in
`asyncio.Protocol` callbacks and wake the one coroutine that reads what arrived. The loop is
given, not asked for: on Python 3.11 each `get_running_loop()` costs a getpid().
"""

from __future__ import annotations

import asyncio


class Waiter:
    __slots__ = ("_future", "_loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._future: asyncio.Future[None] | None = None

    async def wait(self) -> None:
        """Until the next `wake()` (which may already be on its way as a callback)."""
        future = self._future = self._loop.create_future()
        try:
            await future
        finally:
            self._future = None

    def wake(self) -> None:
        """Release the parked coroutine, if any; a no-op when nobody waits."""
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)
