"""Stops in the background, so that a replica's SIGTERM grace period never holds up a tick.

A stop is begun at most once per replica and runs beside the ticks (the runtime sends SIGTERM,
then SIGKILL after the grace). Ticks leave a replica alone while its stop runs; the decision
that began it is carried out by a later tick, once the runtime says the process is gone
(level-triggered: the record moves on only then). Nothing here is stored: after a restart, or
when the lease passes to another controller, the replica is still in the store in its old
state and the next leader stops it again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from modelport.domain.decisions import Decision
from modelport.domain.records import ReplicaHandle
from modelport.runtime.base import ProcessState, RuntimeBackend

log = logging.getLogger(__name__)


@dataclass
class _Stop:
    task: asyncio.Task[None]
    handle: ReplicaHandle
    cause: Decision  # carried out once the process is gone


class Stopper:
    def __init__(self, runtime: RuntimeBackend, grace_seconds: float) -> None:
        self._runtime = runtime
        self._grace = grace_seconds
        self._by_replica: dict[int, _Stop] = {}
        # Processes no record owns (a launch whose record moved meanwhile): nobody else knows
        # them, so their stops outlive a lost lease and shutdown waits for them.
        self._orphans: set[asyncio.Task[None]] = set()

    def begin(self, replica_id: int, handle: ReplicaHandle, cause: Decision) -> None:
        """Start stopping the replica's process unless a stop of it already runs."""
        if replica_id not in self._by_replica:
            self._by_replica[replica_id] = _Stop(self._spawn(handle, replica_id), handle, cause)

    def stopping(self, replica_id: int) -> bool:
        return replica_id in self._by_replica

    async def outcome(self, replica_id: int) -> Decision | None:
        """The decision that began the replica's stop, once its process is gone (the stop is
        then forgotten); None while the process may still run."""
        stop = self._by_replica.get(replica_id)
        if stop is None or not stop.task.done():
            return None
        status = await self._runtime.status(stop.handle)
        if status.state is ProcessState.RUNNING:
            # SIGKILL did not end it in time (e.g. uninterruptible I/O): try again.
            log.warning("replica %d still runs after its stop; stopping it again", replica_id)
            stop.task = self._spawn(stop.handle, replica_id)
            return None
        del self._by_replica[replica_id]
        return stop.cause

    def stop_orphan(self, handle: ReplicaHandle) -> None:
        task = self._spawn(handle, None)
        self._orphans.add(task)
        task.add_done_callback(self._orphans.discard)

    def forget_all_but(self, replica_ids: set[int]) -> None:
        """Drop finished stops of replicas no longer in the store (deleted with their
        endpoint); a running one is left to finish."""
        for replica_id, stop in list(self._by_replica.items()):
            if replica_id not in replica_ids and stop.task.done():
                del self._by_replica[replica_id]

    def abandon(self) -> None:
        """Cancel the replica stops (the lease is lost or given up): the next leader decides
        them anew from the store. The SIGTERM already sent stays sent."""
        for stop in self._by_replica.values():
            stop.task.cancel()
        self._by_replica.clear()

    async def wait(self) -> None:
        """Until every stop begun so far has ended (each is bounded by the grace period)."""
        tasks = [s.task for s in self._by_replica.values()] + list(self._orphans)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Shutdown: abandon replica stops (their records stay), finish orphans' stops."""
        self.abandon()
        await self.wait()

    def _spawn(self, handle: ReplicaHandle, replica_id: int | None) -> asyncio.Task[None]:
        name = "orphan process" if replica_id is None else f"replica {replica_id}"
        task = asyncio.create_task(self._runtime.stop(handle, self._grace), name=f"stop {name}")
        task.add_done_callback(_log_failure)
        return task


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed", task.get_name(), exc_info=task.exception())
