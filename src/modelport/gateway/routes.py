"""The gateway's route table: an in-memory snapshot of running endpoints and READY replicas.

Requests read the current snapshot without locks or I/O; a background loop rebuilds it from the
store every `route_refresh_interval` and swaps it in one assignment, so a reader always sees one
consistent table. A failed refresh keeps the last good table.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import DesiredState

log = logging.getLogger("modelport.gateway.routes")


class RouteSource(Protocol):
    """The two store reads the table is built from (a Store satisfies it)."""

    def list_ready_replicas(self) -> Sequence[Replica]: ...

    def list_endpoints(self, project_id: int | None = None) -> Sequence[Endpoint]: ...


@dataclass(frozen=True, slots=True)
class ReplicaTarget:
    replica_id: int
    url: str  # "http://host:port", no trailing slash


@dataclass(frozen=True, slots=True)
class EndpointRoute:
    endpoint_id: int
    project_id: int
    name: str
    replicas: tuple[ReplicaTarget, ...]  # READY ones; empty means "running but not ready yet"
    max_concurrency: int | None  # per replica, from the spec
    created: int  # unix seconds, shown by /v1/models


@dataclass(frozen=True, slots=True)
class _Snapshot:
    by_name: dict[tuple[int, str], EndpointRoute] = field(default_factory=dict)
    by_id: dict[int, EndpointRoute] = field(default_factory=dict)
    by_project: dict[int, tuple[EndpointRoute, ...]] = field(default_factory=dict)


def build_snapshot(endpoints: Sequence[Endpoint], replicas: Sequence[Replica]) -> _Snapshot:
    targets: dict[int, list[ReplicaTarget]] = defaultdict(list)
    for replica in replicas:
        url = replica.url
        if url is not None:
            targets[replica.endpoint_id].append(ReplicaTarget(replica.id, url))
    by_name: dict[tuple[int, str], EndpointRoute] = {}
    by_id: dict[int, EndpointRoute] = {}
    by_project: dict[int, list[EndpointRoute]] = defaultdict(list)
    for endpoint in endpoints:
        if endpoint.desired_state is not DesiredState.RUNNING:
            continue
        route = EndpointRoute(
            endpoint_id=endpoint.id,
            project_id=endpoint.project_id,
            name=endpoint.name,
            replicas=tuple(sorted(targets.get(endpoint.id, ()), key=lambda t: t.replica_id)),
            max_concurrency=endpoint.spec.max_concurrency,
            created=int(endpoint.created_at.timestamp()),
        )
        by_name[(endpoint.project_id, endpoint.name)] = route
        by_id[endpoint.id] = route
        by_project[endpoint.project_id].append(route)
    return _Snapshot(
        by_name, by_id, {p: tuple(sorted(r, key=lambda e: e.name)) for p, r in by_project.items()}
    )


class RouteTable:
    def __init__(self) -> None:
        self._snapshot = _Snapshot()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- reads (hot path) ------------------------------------------------------------
    def lookup(self, project_id: int, name: str) -> EndpointRoute | None:
        return self._snapshot.by_name.get((project_id, name))

    def get(self, endpoint_id: int) -> EndpointRoute | None:
        return self._snapshot.by_id.get(endpoint_id)

    def endpoints(self, project_id: int) -> tuple[EndpointRoute, ...]:
        """The project's running endpoints, by name."""
        return self._snapshot.by_project.get(project_id, ())

    # --- updates -----------------------------------------------------------------------
    async def refresh(self, store: RouteSource) -> None:
        """Rebuild from the store and swap the table in; raises (old table kept) on failure."""
        replicas = await asyncio.to_thread(store.list_ready_replicas)
        endpoints = await asyncio.to_thread(store.list_endpoints)
        self._snapshot = build_snapshot(endpoints, replicas)

    async def run(self, store: RouteSource, interval: float, stop: asyncio.Event) -> None:
        """Refresh every `interval` seconds (sooner when poked) until `stop` is set."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                try:
                    await self.refresh(store)
                except Exception:
                    log.exception("route table refresh failed; keeping the last good table")
                waking = asyncio.create_task(self._wake.wait())
                await asyncio.wait(
                    {stopping, waking}, timeout=interval, return_when=asyncio.FIRST_COMPLETED
                )
                waking.cancel()
                self._wake.clear()
        finally:
            stopping.cancel()

    def refresh_soon(self) -> None:
        """Ask the running loop to refresh now (e.g. a replica became READY or is draining).

        Safe to call from any thread; a no-op before `run` has started.
        """
        loop, wake = self._loop, self._wake
        if loop is None or wake is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    invalidate = refresh_soon  # the name a cache-minded caller looks for
