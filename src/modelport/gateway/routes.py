"""The gateway's route table: an in-memory snapshot of running endpoints and READY replicas.

Requests read the current snapshot without locks or I/O; a background loop rebuilds it from the
store every `route_refresh_interval` and swaps it in one assignment, so a reader always sees one
consistent table. A failed refresh keeps the last good table.

Besides name and id, the snapshot indexes the names vendor dialects' clients send as `model`
(see `aliases`), built here once per rebuild rather than per request.

A running endpoint without a READY replica keeps its route (empty `replicas`): the gateway holds
its requests until one is READY (`wait_for_replicas`, woken by each swap), unless the snapshot
says no replica can start (`unavailable`: crash-looping, or waiting for capacity).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from modelport.domain.errors import PermanentError
from modelport.domain.phases import derive_phase, is_waiting_for_capacity
from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import AsyncConfig, Framework
from modelport.domain.states import DesiredState, EndpointPhase, ReplicaState
from modelport.gateway.aliases import DIALECT_NAMES, DialectNames, explicit_names

log = logging.getLogger("modelport.gateway.routes")

FRESH_TIMEOUT = 2.0  # longest a management call waits for the route table to show its change


class RouteSource(Protocol):
    """The two store reads the table is built from (a Store satisfies it)."""

    def list_replicas(self) -> Sequence[Replica]: ...  # every endpoint's, STOPPED ones left out

    def list_endpoints(self, project_id: int | None = None) -> Sequence[Endpoint]: ...


@dataclass(frozen=True, slots=True)
class ReplicaTarget:
    replica_id: int
    url: str  # "http://host:port", no trailing slash
    # "Bearer <replica key>": the engine answers only requests that carry it (None: the engine
    # enforces no key). Never logged; the client's own Authorization is never forwarded.
    authorization: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class EndpointRoute:
    endpoint_id: int
    project_id: int
    name: str
    replicas: tuple[ReplicaTarget, ...]  # READY ones; empty means "running but not ready yet"
    max_concurrency: int | None  # per replica, from the spec
    created: int  # unix seconds, shown by /v1/models
    # The engine: which paths and shapes its replicas serve (gateway/engine_routes.py).
    framework: Framework = Framework.CUSTOM
    # Queued invocations (gateway/async_hook.py): on, and the TIR URL tails that are queued.
    async_enabled: bool = False
    async_paths: frozenset[str] = frozenset()
    # No replica can start (crash loop, or no capacity), with why: requests fail fast, not held.
    unavailable: str | None = None


AliasKey = tuple[str, int, str]  # (dialect, project id, model name as its clients send it)
Listing = tuple[tuple[str, EndpointRoute], ...]  # (model id a dialect lists, route), by id


@dataclass(frozen=True, slots=True)
class _Snapshot:
    by_name: dict[tuple[int, str], EndpointRoute] = field(default_factory=dict)
    by_id: dict[int, EndpointRoute] = field(default_factory=dict)
    by_project: dict[int, tuple[EndpointRoute, ...]] = field(default_factory=dict)
    by_alias: dict[AliasKey, EndpointRoute] = field(default_factory=dict)
    listed: dict[tuple[str, int], Listing] = field(default_factory=dict)  # (dialect, project)
    clashes: frozenset[str] = frozenset()  # dialect model names claimed by two endpoints


def build_snapshot(
    endpoints: Sequence[Endpoint],
    replicas: Sequence[Replica],
    dialects: Mapping[str, DialectNames] = DIALECT_NAMES,
    authorization: Callable[[str], str | None] | None = None,
) -> _Snapshot:
    """`replicas`: every live replica (any state but STOPPED); READY ones become targets.
    `authorization` turns a handle's sealed replica key into the header value to send."""
    targets: dict[int, list[ReplicaTarget]] = defaultdict(list)
    of_endpoint: dict[int, list[Replica]] = defaultdict(list)
    for replica in replicas:
        of_endpoint[replica.endpoint_id].append(replica)
        url = replica.url
        if url is not None and replica.state is ReplicaState.READY:
            sealed = replica.handle.sealed_key if replica.handle is not None else None
            header = authorization(sealed) if sealed is not None and authorization else None
            targets[replica.endpoint_id].append(ReplicaTarget(replica.id, url, header))
    by_name: dict[tuple[int, str], EndpointRoute] = {}
    by_id: dict[int, EndpointRoute] = {}
    by_project: dict[int, list[EndpointRoute]] = defaultdict(list)
    running: list[tuple[Endpoint, EndpointRoute]] = []
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
            framework=endpoint.spec.framework,
            async_enabled=endpoint.spec.async_config.enabled,
            async_paths=_async_paths(endpoint.spec.async_config),
        )
        if not route.replicas:
            route = replace(route, unavailable=why_unavailable(endpoint, of_endpoint[endpoint.id]))
        by_name[(endpoint.project_id, endpoint.name)] = route
        by_id[endpoint.id] = route
        by_project[endpoint.project_id].append(route)
        running.append((endpoint, route))
    clashes: set[str] = set()
    by_alias, listed = _alias_index(running, dialects, clashes)
    return _Snapshot(
        by_name,
        by_id,
        {p: tuple(sorted(r, key=lambda e: e.name)) for p, r in by_project.items()},
        by_alias,
        listed,
        frozenset(clashes),
    )


def why_unavailable(endpoint: Endpoint, replicas: Sequence[Replica]) -> str | None:
    """Why no replica of a running endpoint without READY ones can start, or None when one is
    on its way (or none is wanted yet): the phase the user sees says so (domain/phases.py)."""
    phase = derive_phase(endpoint, replicas)
    if phase is EndpointPhase.PENDING:
        held = next(r for r in replicas if is_waiting_for_capacity(r))
        return f"no replica can be placed: {replica_reason(held)}"
    if phase is EndpointPhase.FAILED:
        current = (r for r in replicas if r.generation == endpoint.template_generation)
        worst = max(current, key=lambda r: (r.restart_count, r.state_changed_at))
        restarts = f" (restarted {worst.restart_count} times)" if worst.restart_count else ""
        return f"its replicas keep failing{restarts}: {replica_reason(worst) or worst.state.value}"
    return None


def replica_reason(replica: Replica) -> str:
    """The human text of why a replica is in its state (the one place this module reads it)."""
    return replica.state_reason


def _async_paths(config: AsyncConfig) -> frozenset[str]:
    """Target routes as a TIR URL's tail reads them: one leading "/", no query."""
    return frozenset(
        "/" + route.route_value.strip().lstrip("/").partition("?")[0]
        for route in config.target_routes
    )


def _alias_index(
    running: Sequence[tuple[Endpoint, EndpointRoute]],
    dialects: Mapping[str, DialectNames],
    clashes: set[str],
) -> tuple[dict[AliasKey, EndpointRoute], dict[tuple[str, int], Listing]]:
    """Each dialect's model names per project, and what its model list shows.

    On a clash a name from the extensions beats an endpoint's own name, then the older
    endpoint (lower id) keeps it; each clash is described in `clashes`.
    """
    by_alias: dict[AliasKey, EndpointRoute] = {}
    listed: dict[tuple[str, int], list[tuple[str, EndpointRoute]]] = defaultdict(list)
    oldest_first = sorted(running, key=lambda pair: pair[1].endpoint_id)
    for dialect, rule in dialects.items():
        names_of = {
            route.endpoint_id: (
                *explicit_names(dialect, endpoint.spec.extensions),
                *((route.name,) if rule.by_endpoint_name else ()),
            )
            for endpoint, route in oldest_first
        }
        own = 1 if rule.by_endpoint_name else 0
        for _, route in oldest_first:  # explicit names first, so they win over own names
            names = names_of[route.endpoint_id]
            for alias in names[: len(names) - own]:
                _claim(by_alias, (dialect, route.project_id, alias), route, clashes)
        if rule.by_endpoint_name:
            for _, route in oldest_first:
                _claim(by_alias, (dialect, route.project_id, route.name), route, clashes)
        for _, route in oldest_first:
            for alias in names_of[route.endpoint_id]:
                if by_alias[(dialect, route.project_id, alias)] is route:
                    listed[(dialect, route.project_id)].append((alias, route))
                    break
    return by_alias, {key: tuple(sorted(pairs, key=_first)) for key, pairs in listed.items()}


def _first(pair: tuple[str, EndpointRoute]) -> str:
    return pair[0]


def _claim(
    by_alias: dict[AliasKey, EndpointRoute], key: AliasKey, route: EndpointRoute, clashes: set[str]
) -> None:
    taken = by_alias.setdefault(key, route)
    if taken is not route:
        clashes.add(
            f"{key[0]} model name {key[2]!r} of endpoint {route.name!r} already means "
            f"endpoint {taken.name!r}"
        )


class RouteTable:
    def __init__(self, unseal: Callable[[str], str] | None = None) -> None:
        self._snapshot = _Snapshot()
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
        return self._snapshot.by_name.get((project_id, name))

    def get(self, endpoint_id: int) -> EndpointRoute | None:
        return self._snapshot.by_id.get(endpoint_id)

    def endpoints(self, project_id: int) -> tuple[EndpointRoute, ...]:
        """The project's running endpoints, by name."""
        return self._snapshot.by_project.get(project_id, ())

    def lookup_alias(self, dialect: str, project_id: int, model: str) -> EndpointRoute | None:
        """The endpoint a dialect's client means by `model` (see `gateway.aliases`)."""
        return self._snapshot.by_alias.get((dialect, project_id, model))

    def listed(self, dialect: str, project_id: int) -> Listing:
        """(model id, route) of the project's endpoints as the dialect lists them, by id."""
        return self._snapshot.listed.get((dialect, project_id), ())

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
        """Rebuild from the store and swap the table in; raises (old table kept) on failure."""
        covers = self._asked  # every ask made before this read is answered by its table
        replicas = await asyncio.to_thread(store.list_replicas)
        endpoints = await asyncio.to_thread(store.list_endpoints)
        snapshot = build_snapshot(endpoints, replicas, authorization=self._authorization)
        live = {
            r.handle.sealed_key
            for r in replicas
            if r.handle is not None and r.state is ReplicaState.READY
        }
        self._headers = {k: v for k, v in self._headers.items() if k in live}
        for clash in sorted(snapshot.clashes - self._snapshot.clashes):
            log.warning("%s; the older endpoint keeps it", clash)  # once, not every refresh
        self._snapshot = snapshot
        self._built = max(self._built, covers)
        swapped, self._swapped = self._swapped, None
        if swapped is not None and not swapped.done():
            swapped.set_result(None)

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
