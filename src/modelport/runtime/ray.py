"""Replicas as detached, named Ray actors, each running its engine on the node Ray chose.

place() picks nothing itself: it checks that some node can hold the replica now (else a
TemporaryError that says what the cluster has), creates the actor with the replica's resources
and waits until Ray has scheduled it; the actor then names its node's address and a free port
there. start() hands it the launch plan. Everything later goes through the actor, found by its
name (the replica key, kept in the handle) in this install's namespace, so a restarted server
adopts running replicas as they are. A dead actor (its node died) is a MISSING process: the
controller fails the replica and launches a new one on the nodes left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelport.domain.errors import PermanentError, ReplicaPreparing, TemporaryError
from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import Resources, RuntimeKind
from modelport.runtime.base import ProcessState, ProcessStatus, only_backend
from modelport.runtime.ray_calls import ActorGone, ActorUnreachable, RayCalls
from modelport.runtime.ray_fit import RayNode, first_fit, gpu_inventory, shortfall
from modelport.runtime.ray_group import ReplicaActors, rank_name

log = logging.getLogger("modelport.runtime.ray")

RUNNING = ProcessStatus(state=ProcessState.RUNNING)
MISSING = ProcessStatus(state=ProcessState.MISSING)
_SLOT_SECONDS = 0.5  # per place() attempt: Ray answers at once when the actor runs
_ABANDONED_SECONDS = 30.0  # a pending actor no place() asked about this long is killed
_CALL_SECONDS = 5.0  # status, logs, cpu: an actor that takes longer is asked about its node
_START_SECONDS = 60.0
_NODES_FRESH_SECONDS = 2.0  # how old the node list may be for capacity and liveness


@dataclass
class _Pending:
    """An actor place() created that Ray has not run yet."""

    created: float
    last_attempt: float = 0.0
    announced: bool = False

    def announce(self) -> bool:
        """True the first time only: one event for the wait, then only its detail moves."""
        first, self.announced = not self.announced, True
        return first


def actor_name(handle: ReplicaHandle) -> str | None:
    """The replica's actor: runtime_ref, or container_id on handles written before it."""
    return handle.runtime_ref or handle.container_id


class RayRuntime:
    name = "ray"

    def __init__(
        self,
        calls: RayCalls,
        node_dir: str,
        place_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._calls = calls
        self._node_dir = node_dir  # on each node: replica logs and private directories
        self._place_seconds = place_seconds  # how long place() waits for Ray to schedule
        self._monotonic = monotonic
        self._nodes: list[RayNode] = []
        self._nodes_at: float | None = None
        self._refreshing: asyncio.Task[None] | None = None
        self._placed: dict[str, str] = {}  # replica key -> its node's name, until start()
        self._pending: dict[str, _Pending] = {}  # actors created, not yet running
        self._actors = ReplicaActors(calls, node_dir)
        self._swept = False  # actors a previous server left waiting: killed once, at start

    @classmethod
    def on_cluster(
        cls, address: str | None, namespace: str, start_local: bool, node_dir: Path
    ) -> RayRuntime:
        """A runtime on the cluster at `address` (connected on first use, in a thread), its
        actors in `namespace` (one per server home), their files under node_dir/namespace."""
        calls = RayCalls(address, namespace, start_local=start_local)
        return cls(calls, str(node_dir / namespace))

    # --- RuntimeBackend -------------------------------------------------------------------
    def select(self, kind: RuntimeKind | None) -> RayRuntime:
        return only_backend(self, kind)

    async def place(self, replica_key: str, resources: Resources) -> Slot:
        """The node's address and a free port there once Ray runs the replica's actor. Never
        waits long (the controller holds its lease meanwhile): while the actor is not yet
        scheduled it raises ReplicaPreparing, the background-wait error, and is asked again."""
        asked = self._pending.get(replica_key)
        if asked is None:
            nodes = await self._fresh_nodes(force=True)
            node = first_fit(nodes, resources)
            if node is None:
                raise TemporaryError(shortfall(nodes, resources), delay=5.0)
            await asyncio.to_thread(self._actors.remove, replica_key)  # a lost server's, if any
            await asyncio.to_thread(self._actors.create, replica_key, resources, node)
            asked = self._pending[replica_key] = _Pending(self._monotonic())
        asked.last_attempt = self._monotonic()
        # Across nodes, the engines meet at the first node's port + 1 (engines/multinode.py).
        span = 2 if resources.nodes > 1 else 1
        try:
            where: Slot = await self._calls.call(replica_key, "slot", span, timeout=_SLOT_SECONDS)
        except ActorUnreachable as exc:  # not scheduled yet, or its worker still starting
            waited = self._monotonic() - asked.created
            if waited < self._place_seconds:
                raise ReplicaPreparing(
                    f"waiting for the Ray cluster to run its actor ({waited:.0f}s)",
                    began=asked.announce(),
                    delay=0.5,
                ) from exc
            await self.release(replica_key)  # another claimed the node first: ask again
            busy = shortfall(await self._fresh_nodes(force=True), resources)
            raise TemporaryError(
                f"the cluster did not run it in {self._place_seconds:g}s ({busy})", delay=2.0
            ) from exc
        except ActorGone as exc:  # its __init__ failed on the node (e.g. modelport missing)
            await self.release(replica_key)
            raise PermanentError(f"the replica's Ray actor failed on its node: {exc}") from exc
        self._pending.pop(replica_key, None)
        node_name = self._node_name(where.node)
        self._placed[replica_key] = node_name
        return Slot(host=where.host, port=where.port, node=node_name)

    async def release(self, replica_key: str) -> None:
        self._placed.pop(replica_key, None)
        self._pending.pop(replica_key, None)
        await asyncio.to_thread(self._actors.remove, replica_key)

    async def start(self, replica_key: str, plan: LaunchPlan) -> ReplicaHandle:
        """The first node's engine, which serves, then each further node's (node_argv)."""
        peers = [rank_name(replica_key, rank) for rank in range(1, len(plan.node_argv) + 1)]
        try:
            local: ReplicaHandle = await self._calls.call(
                replica_key, "start", replica_key, plan, peers, timeout=_START_SECONDS
            )
            for peer, argv in zip(peers, plan.node_argv, strict=True):
                node_plan = plan.model_copy(update={"argv": argv, "node_argv": []})
                await self._calls.call(peer, "start", peer, node_plan, timeout=_START_SECONDS)
        except (ActorGone, ActorUnreachable) as exc:
            raise TemporaryError(f"the replica's node did not start it: {exc}", delay=2.0) from exc
        # The actor's name finds it again (also after a server restart).
        update = {"backend": self.name, "node": self._placed.pop(replica_key, None)}
        return local.model_copy(update={**update, "runtime_ref": replica_key})

    async def status(self, handle: ReplicaHandle) -> ProcessStatus:
        name = actor_name(handle)
        if name is None:
            return MISSING
        try:
            await self._connect()
            status: ProcessStatus = await self._calls.call(
                name, "status", handle, timeout=_CALL_SECONDS
            )
            return status
        except ActorGone:
            return MISSING
        except ActorUnreachable:
            # A node that no longer answers is dead once Ray says so; until then, only slow.
            return RUNNING if await self._node_alive(handle.node) else MISSING
        except TemporaryError as exc:  # the cluster is unreachable: the probes will tell
            log.warning("replica %s: cannot ask Ray: %s", name, exc.message)
            return RUNNING

    async def stop(self, handle: ReplicaHandle, grace_seconds: float) -> None:
        name = actor_name(handle)
        if name is None:
            return
        with contextlib.suppress(ActorGone, ActorUnreachable, TemporaryError):
            await self._connect()
            await self._calls.call(name, "stop", handle, grace_seconds, timeout=grace_seconds + 10)
        # Its resources back to the cluster; the other nodes' engines end with their actors.
        await asyncio.to_thread(self._actors.remove, name)

    async def exec_probe(self, handle: ReplicaHandle, argv: list[str], timeout: float) -> bool:
        passed = await self._ask(handle, "exec_probe", argv, timeout, timeout=timeout + 5)
        return passed is True

    async def read_logs(self, handle: ReplicaHandle, tail_bytes: int = 64_000) -> str:
        text = await self._ask(handle, "read_logs", tail_bytes, timeout=_CALL_SECONDS)
        if isinstance(text, str):
            return text
        return f"(the log is on node {handle.node}, which does not answer)\n"

    async def cpu_seconds(self, handles: Sequence[ReplicaHandle]) -> list[float | None]:
        async def one(handle: ReplicaHandle) -> float | None:
            seconds = await self._ask(handle, "cpu_seconds", timeout=_CALL_SECONDS)
            return seconds[0] if isinstance(seconds, list) else None

        return list(await asyncio.gather(*(one(h) for h in handles)))

    def gpu_inventory(self) -> dict[str, int]:
        """The cluster's GPUs by type, as last read; a stale list is re-read in the background
        (the planner asks every tick and must not wait for the cluster)."""
        if self._stale() and (self._refreshing is None or self._refreshing.done()):
            with contextlib.suppress(RuntimeError):  # no running loop: nothing to refresh on
                self._refreshing = asyncio.get_running_loop().create_task(self._refresh())
        return gpu_inventory(self._nodes)

    # --- helpers --------------------------------------------------------------------------
    async def _connect(self) -> None:
        await asyncio.to_thread(self._calls.connect)

    async def _ask(self, handle: ReplicaHandle, method: str, *args: Any, timeout: float) -> Any:
        """The actor's answer, or None when it is gone, silent or the cluster unreachable."""
        name = actor_name(handle)
        if name is None:
            return None
        try:
            await self._connect()
            return await self._calls.call(name, method, handle, *args, timeout=timeout)
        except (ActorGone, ActorUnreachable, TemporaryError) as exc:
            log.debug("replica %s: %s not answered: %s", name, method, exc)
            return None

    def _stale(self) -> bool:
        at = self._nodes_at
        return at is None or self._monotonic() - at > _NODES_FRESH_SECONDS

    async def _refresh(self) -> None:
        try:
            await self._fresh_nodes(force=True)
            await self._sweep_left_behind()
            await self._sweep()
        except Exception as exc:  # the next tick tries again
            log.warning("cannot read the Ray cluster's nodes: %s", exc)

    async def _sweep(self) -> None:
        """Kill actors created for replicas nobody places any more (deleted while pending)."""
        now = self._monotonic()
        for key, asked in list(self._pending.items()):
            if now - asked.last_attempt > _ABANDONED_SECONDS:
                log.info("replica %s: no longer placed; its pending actor is killed", key)
                await self.release(key)

    async def _sweep_left_behind(self) -> None:
        """Once, at start: remove what a previous server placed and never started (actors Ray
        never ran, actors that run no engine, placement groups without actors), for replicas
        deleted since; a replica still wanted is placed again (place() replaces them). Actors
        running an engine are replicas to adopt: kept."""
        if self._swept:
            return
        keep = set(self._pending) | set(self._placed)
        left = await asyncio.to_thread(self._actors.left_behind, keep)
        idle = [key for key in sorted(left.scheduled) if not await self._runs_engine(key)]
        for key in sorted(left.waiting | left.lone_groups) + idle:
            log.info("replica %s: left unstarted by a previous server; its actors removed", key)
            await asyncio.to_thread(self._actors.remove, key)
        self._swept = True

    async def _runs_engine(self, replica_key: str) -> bool:
        """Whether the replica's first actor started an engine (True when it cannot tell)."""
        try:
            started: bool = await self._calls.call(replica_key, "started", timeout=_CALL_SECONDS)
        except ActorGone:
            return False
        except ActorUnreachable:
            return True
        return started

    async def _fresh_nodes(self, force: bool = False) -> list[RayNode]:
        if force or self._stale():
            await self._connect()
            self._nodes = await asyncio.to_thread(self._calls.nodes)
            self._nodes_at = self._monotonic()
        return self._nodes

    async def _node_alive(self, name: str | None) -> bool:
        try:
            nodes = await self._fresh_nodes()
        except TemporaryError:
            return True  # cannot tell
        return any(n.name == name and n.alive for n in nodes)

    def _node_name(self, node_id: str | None) -> str:
        for node in self._nodes:
            if node.node_id == node_id:
                return node.name
        return node_id or "?"
