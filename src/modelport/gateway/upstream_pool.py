"""Keep-alive connections to replicas, pooled per replica URL, with cheap deadlines.

Idle connections are reused newest first (the one least likely to have been closed by the
replica) and dropped after `keepalive` seconds, below the idle timeout engines use (uvicorn's is
5 s), so a pooled connection is rarely stale; when one is, the proxy retries on a fresh one.

Deadlines cost no timer per request: each busy connection carries the loop time it must finish
by, and one sweeper task checks them a few times per timeout period, closes idle connections
that outlived `keepalive`, and makes requests unanswered after `watch_after` seconds listen for
their client leaving (so a long non-streamed generation is abandoned when nobody waits for it,
while quick answers never pay for a watcher task).
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from modelport.gateway.upstream import UpstreamConnection, UpstreamTimeout

CONNECT_TIMEOUT = 5.0  # a replica that does not accept within this is treated as down
POOL_KEEPALIVE = 4.0  # below uvicorn's 5 s default, so engines never close a connection we reuse
WATCH_AFTER = 1.0  # a request unanswered this long starts listening for its client leaving


class UpstreamPool:
    def __init__(
        self,
        timeout: float,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        keepalive: float = POOL_KEEPALIVE,
        watch_after: float = WATCH_AFTER,
    ) -> None:
        self._timeout = timeout  # whole exchange, from acquire to the end of the body
        self._connect_timeout = connect_timeout
        self._keepalive = keepalive
        self._watch_after = watch_after
        self._idle: dict[str, list[UpstreamConnection]] = {}
        self._busy: set[UpstreamConnection] = set()
        self._addresses: dict[str, tuple[str, int, str]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start the deadline sweeper on the running loop (idempotent)."""
        if self._sweeper is None:
            self._loop = asyncio.get_running_loop()
            self._sweeper = self._loop.create_task(self._sweep(), name="upstream-pool-sweeper")

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
        for connection in list(self._busy):
            connection.fail(UpstreamTimeout("the gateway is shutting down"))
        self._busy.clear()

    def idle_count(self, url: str) -> int:
        return len(self._idle.get(url, ()))

    async def acquire(self, url: str) -> UpstreamConnection:
        """A connection to `url` ("http://host:port"), reused when one is idle.

        Raises OSError (ConnectionRefusedError, TimeoutError, ...) when a new connection
        cannot be made.
        """
        loop = self._loop
        if loop is None:
            self.start()
            loop = self._loop
            assert loop is not None
        now = loop.time()
        connection = None
        idle = self._idle.get(url)
        while idle:
            candidate = idle.pop()
            if candidate.closed:
                continue
            if now - candidate.idle_since > self._keepalive:
                candidate.close()
                continue
            connection = candidate
            break
        if connection is None:
            connection = await self._connect(loop, url)
        connection.started = now
        connection.deadline = now + self._timeout
        self._busy.add(connection)
        return connection

    def release(self, connection: UpstreamConnection) -> None:
        """Back to the pool when the exchange ended cleanly; closed otherwise."""
        self._busy.discard(connection)
        connection.stop_watching()
        if connection.reusable():
            assert self._loop is not None
            connection.recycle(self._loop.time())
            self._idle.setdefault(connection.key, []).append(connection)
        else:
            connection.close()

    async def _connect(self, loop: asyncio.AbstractEventLoop, url: str) -> UpstreamConnection:
        address = self._addresses.get(url)
        if address is None:
            address = self._addresses[url] = _address(url)
        host, port, host_header = address
        connection = UpstreamConnection(url, host_header, self._forget)
        async with asyncio.timeout(self._connect_timeout):
            await loop.create_connection(lambda: connection, host, port)
        return connection

    def _forget(self, connection: UpstreamConnection) -> None:
        """Called by a connection when its socket closed."""
        idle = self._idle.get(connection.key)
        if idle and connection in idle:
            idle.remove(connection)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        period = min(1.0, max(0.01, self._timeout / 8), self._keepalive / 2, self._watch_after)
        while True:
            await asyncio.sleep(period)
            now = loop.time()
            expired = [c for c in self._busy if c.deadline <= now]
            for connection in expired:
                self._busy.discard(connection)
                connection.fail(UpstreamTimeout("the upstream did not answer in time"))
            slow = now - self._watch_after
            for connection in self._busy:
                if connection.started <= slow and not connection.watched:
                    connection.watch_client()
            for url, idle in list(self._idle.items()):
                keep = [c for c in idle if not c.closed and now - c.idle_since <= self._keepalive]
                for connection in idle:
                    if connection not in keep:
                        connection.close()
                if keep:
                    self._idle[url] = keep
                else:
                    del self._idle[url]


def _address(url: str) -> tuple[str, int, str]:
    """'http://127.0.0.1:9000' -> ('127.0.0.1', 9000, '127.0.0.1:9000')."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"unsupported replica URL {url!r}: only http://host:port is proxied")
    port = parts.port or 80
    return parts.hostname, port, parts.netloc
