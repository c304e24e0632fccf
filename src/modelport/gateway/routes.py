"""The gateway's route table: an in-memory snapshot of running endpoints and READY replicas.

Requests read the current snapshot without locks or I/O. A background loop keeps it current
from the store: every `route_refresh_interval` it reads only what changed since a watermark
(store.route_changes: endpoints updated, replicas whose state moved, deletions; store/watermark.py
says from when), rebuilds the
parts of the projects those touch (gateway/route_snapshot.py) and swaps the new snapshot in one
assignment; nothing changed costs two index reads and no rebuild. Every `resync_interval` it
reads everything again (what a late commit or a clock skew hid is caught there). A failed
refresh keeps the last good table.

A running endpoint without a READY replica keeps its route (empty `replicas`): the gateway holds
its requests until one is READY (`wait_for_replicas`, woken by each swap), unless the snapshot
says no replica can start (`unavailable`: crash-looping, or waiting for capacity).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from modelport.domain.errors import PermanentError
from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import DesiredState, ReplicaState
from modelport.gateway.route_snapshot import (
    EndpointRoute,
    Listing,
    ProjectRoutes,
    ReplicaTarget,
    Snapshot,
    build_project,
    build_snapshot,
    group_replicas,
    why_unavailable,
)
from modelport.store.paging import RouteChanges
from modelport.store.watermark import Watermark

__all__ = [
    "FRESH_TIMEOUT",
    "EndpointRoute",
    "Listing",
    "ReplicaTarget",
    "RouteSource",
    "RouteTable",
    "build_snapshot",
    "why_unavailable",
]

log = logging.getLogger("modelport.gateway.routes")

FRESH_TIMEOUT = 2.0  # longest a management call waits for the route table to show its change
RESYNC_INTERVAL = 60.0  # seconds between full reads (settings.route_resync_interval)


@runtime_checkable
class ChangeSource(Protocol):
    """The store read the table is built from (a Store satisfies it)."""

    def route_changes(self, since: datetime | None) -> RouteChanges: ...


class ListSource(Protocol):
    """Whole-table reads (test stubs): every refresh is then a full one."""

    def list_replicas(self) -> Sequence[Replica]: ...  # every endpoint's, STOPPED ones left out

    def list_endpoints(self, project_id: int | None = None) -> Sequence[Endpoint]: ...


RouteSource = ChangeSource | ListSource


def read_changes(source: RouteSource, since: datetime | None) -> RouteChanges:
    """What changed since `since` (None: everything), from either kind of source."""
    if isinstance(source, ChangeSource):
        return source.route_changes(since)
    endpoints = tuple(source.list_endpoints())
    touched = frozenset(e.id for e in endpoints)
    return RouteChanges(endpoints, tuple(source.list_replicas()), frozenset(), {}, None,
                        full=True, touched=touched)  # fmt: skip


class _Mirror:
    """The running endpoints and their live replicas as last read, per project: what a
    project's part is rebuilt from when a change touches it."""

    def __init__(self) -> None:
        self.endpoints: dict[int, Endpoint] = {}
        self.of_project: dict[int, set[int]] = {}
        self.replicas: dict[int, tuple[Replica, ...]] = {}
        self.project_names: dict[int, str] = {}

    def clear(self) -> None:
        self.endpoints, self.of_project, self.replicas = {}, {}, {}
        self.project_names = {}

    def apply(self, changes: RouteChanges) -> set[int]:
        """Take in what changed; the ids of the projects whose part must be rebuilt."""
        if changes.full:
            affected = set(self.of_project)
            self.clear()
        else:
            affected = set()
        self.project_names.update(changes.project_names)
        grouped = group_replicas(changes.replicas)
        fresh = {e.id: e for e in changes.endpoints if e.desired_state is DesiredState.RUNNING}
        for endpoint_id in changes.touched | changes.deleted:
            old = self.endpoints.get(endpoint_id)
            new = fresh.get(endpoint_id)
            replicas = tuple(grouped.get(endpoint_id, ()))
            if old == new and self.replicas.get(endpoint_id, ()) == replicas:
                continue  # re-read in the overlap, unchanged
            if old is not None:
                self._drop(old)
                affected.add(old.project_id)
            if new is not None:
                self.endpoints[endpoint_id] = new
                self.of_project.setdefault(new.project_id, set()).add(endpoint_id)
                self.replicas[endpoint_id] = replicas
                affected.add(new.project_id)
        return affected

    def _drop(self, endpoint: Endpoint) -> None:
        del self.endpoints[endpoint.id]
        self.replicas.pop(endpoint.id, None)
        members = self.of_project.get(endpoint.project_id)
        if members is not None:
            members.discard(endpoint.id)
            if not members:
                del self.of_project[endpoint.project_id]

    def project(self, project_id: int) -> list[Endpoint]:
        return [self.endpoints[i] for i in self.of_project.get(project_id, ())]

    def ready_keys(self) -> set[str]:
        return {
            r.handle.sealed_key
            for replicas in self.replicas.values()
            for r in replicas
            if r.handle is not None and r.handle.sealed_key and r.state is ReplicaState.READY
        }


class RouteTable:
    def __init__(
        self,
        unseal: Callable[[str], str] | None = None,
        resync_interval: float = RESYNC_INTERVAL,
    ) -> None:
        self._snapshot = Snapshot()
        self._mirror = _Mirror()
        # Changes are read from the store's watermark (rows re-read unchanged cost no rebuild);
        # none seen yet: the next refresh reads everything.
        self._mark = Watermark(time.monotonic)
        self._resync_interval = resync_interval
        self._next_full = 0.0  # time.monotonic() of the next full read
        self._unseal = unseal  # opens sealed replica keys; None: send no key (tests)
        self._headers: dict[str, str] = {}  # sealed key -> header value, decrypted once
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._swapped: asyncio.Future[None] | None = None  # resolved by the next swap
        # fresh(): asks counted on the loop; `_built` is the count the current table covers.
        self._asked = 0
        self._built = 0

    # --- reads (hot path) ------------------------------------------------------------
    def lookup(self, project_id: int, name: str) -> EndpointRoute | None:
        part = self._snapshot.projects.get(project_id)
        return None if part is None else part.by_name.get(name)

    def get(self, endpoint_id: int) -> EndpointRoute | None:
        return self._snapshot.by_id.get(endpoint_id)

    def endpoints(self, project_id: int) -> tuple[EndpointRoute, ...]:
        """The project's running endpoints, by name."""
        part = self._snapshot.projects.get(project_id)
        return () if part is None else part.routes

    def lookup_alias(self, dialect: str, project_id: int, model: str) -> EndpointRoute | None:
        """The endpoint a dialect's client means by `model` (see `gateway.aliases`)."""
        part = self._snapshot.projects.get(project_id)
        return None if part is None else part.by_alias.get((dialect, model))

    def listed(self, dialect: str, project_id: int) -> Listing:
        """(model id, route) of the project's endpoints as the dialect lists them, by id."""
        part = self._snapshot.projects.get(project_id)
        return () if part is None else part.listed.get(dialect, ())

    async def wait_for_replicas(self, endpoint_id: int) -> EndpointRoute | None:
        """The endpoint's route once it has a READY replica or says none can start; None once
        it is no longer running. Wakes on each swap; the caller bounds the wait."""
        while True:
            route = self._snapshot.by_id.get(endpoint_id)
            if route is None or route.replicas or route.unavailable is not None:
                return route
            swapped = self._swapped
            if swapped is None:
                swapped = self._swapped = asyncio.get_running_loop().create_future()
            await asyncio.shield(swapped)  # shared by every waiter: one cancelling is no harm

    # --- updates -----------------------------------------------------------------------
    async def refresh(self, store: RouteSource) -> None:
        """Read what changed and swap a table showing it in; raises (old table kept) on
        failure. A full read every `resync_interval`, else the changes since the watermark."""
        covers = self._asked  # every ask made before this read is answered by its table
        since = self._mark.since
        full = since is None or time.monotonic() >= self._next_full
        changes = await asyncio.to_thread(read_changes, store, None if full else since)
        affected = self._mirror.apply(changes)
        if affected:
            # Rebuilding a big project takes a while: off the loop, requests keep flowing.
            rebuilt = await asyncio.to_thread(self._rebuild, affected)
            snapshot = self._snapshot.with_projects(rebuilt)
            for clash in sorted(snapshot.clashes - self._snapshot.clashes):
                log.warning("%s; the older endpoint keeps it", clash)  # once, not every refresh
            self._snapshot = snapshot
        if full:
            live = self._mirror.ready_keys()
            self._headers = {k: v for k, v in self._headers.items() if k in live}
            self._next_full = time.monotonic() + self._resync_interval
        self._mark.saw(changes.high_water)
        self._built = max(self._built, covers)
        swapped, self._swapped = self._swapped, None
        if swapped is not None and not swapped.done():
            swapped.set_result(None)

    def _rebuild(self, project_ids: set[int]) -> Mapping[int, ProjectRoutes]:
        mirror = self._mirror
        return {
            project_id: build_project(
                mirror.project(project_id),
                mirror.replicas,
                mirror.project_names.get(project_id, ""),
                authorization=self._authorization,
            )
            for project_id in project_ids
        }

    def resync_soon(self) -> None:
        """The next refresh reads everything (e.g. a project was renamed)."""
        self._mark.forget()

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

    def _authorization(self, sealed: str) -> str | None:
        if self._unseal is None:
            return None
        header = self._headers.get(sealed)
        if header is None:
            try:
                header = f"Bearer {self._unseal(sealed)}"
            except PermanentError as exc:  # the secret key changed: this replica is unreachable
                log.error("a replica key cannot be opened: %s", exc.message)
                return None
            self._headers[sealed] = header
        return header

    async def fresh(self) -> None:
        """Until a table read from the store after this call is in place (the refresh loop
        builds it at once). Callers bound the wait."""
        self._asked += 1
        wanted = self._asked
        self.refresh_soon()
        while self._built < wanted:
            swapped = self._swapped
            if swapped is None:
                swapped = self._swapped = asyncio.get_running_loop().create_future()
            await asyncio.shield(swapped)

    def wait_fresh(self, timeout: float = FRESH_TIMEOUT) -> None:
        """From a thread other than the loop's (the management API's workers): block until
        the table shows what was just written, so a client that got its answer finds the
        endpoint on its next request. On the loop itself it only asks (blocking would stall
        the refresh); a no-op before `run`; a slow or failing refresh ends the wait at
        `timeout` (the periodic refresh catches up)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self.refresh_soon()
            return
        future = asyncio.run_coroutine_threadsafe(self.fresh(), loop)
        try:
            future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()

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
