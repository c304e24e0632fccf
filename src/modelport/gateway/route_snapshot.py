"""The route table's snapshot: immutable, one part per project, so that a change rebuilds only
the projects it touches (gateway/routes.py swaps a new snapshot in one assignment).

Besides name and id, each project part indexes the names vendor dialects' clients send as
`model` (see `aliases`); a clash goes to the name from the extensions, then the older endpoint.
A running endpoint without a READY replica keeps its route (empty `replicas`), `unavailable`
saying why when no replica can start (crash-looping, or waiting for capacity).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from modelport.domain.phases import derive_phase, is_waiting_for_capacity
from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import AsyncConfig, Framework
from modelport.domain.states import DesiredState, EndpointPhase, ReplicaState
from modelport.gateway.aliases import DIALECT_NAMES, DialectNames, explicit_names

Authorization = Callable[[str], str | None]  # sealed replica key -> header value to send


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
    project_name: str = ""  # `owned_by` of the model lists: no request reads the store


AliasKey = tuple[str, str]  # (dialect, model name as its clients send it), within a project
Listing = tuple[tuple[str, EndpointRoute], ...]  # (model id a dialect lists, route), by id


@dataclass(frozen=True, slots=True)
class ProjectRoutes:
    """One project's running endpoints, indexed every way a request names one."""

    by_name: dict[str, EndpointRoute] = field(default_factory=dict)
    routes: tuple[EndpointRoute, ...] = ()  # by name
    by_alias: dict[AliasKey, EndpointRoute] = field(default_factory=dict)
    listed: dict[str, Listing] = field(default_factory=dict)  # per dialect
    clashes: frozenset[str] = frozenset()  # dialect model names claimed by two endpoints


@dataclass(frozen=True, slots=True)
class Snapshot:
    by_id: dict[int, EndpointRoute] = field(default_factory=dict)
    projects: dict[int, ProjectRoutes] = field(default_factory=dict)

    @property
    def clashes(self) -> frozenset[str]:
        return frozenset().union(*(p.clashes for p in self.projects.values()))

    def with_projects(self, rebuilt: Mapping[int, ProjectRoutes]) -> Snapshot:
        """This snapshot with the given projects' parts replaced (an empty part: removed)."""
        projects = dict(self.projects)
        by_id = dict(self.by_id)
        for project_id, part in rebuilt.items():
            old = projects.pop(project_id, None)
            for route in old.routes if old is not None else ():
                by_id.pop(route.endpoint_id, None)
            if part.routes:
                projects[project_id] = part
                by_id.update((r.endpoint_id, r) for r in part.routes)
        return Snapshot(by_id, projects)


def build_snapshot(
    endpoints: Sequence[Endpoint],
    replicas: Sequence[Replica],
    dialects: Mapping[str, DialectNames] = DIALECT_NAMES,
    authorization: Authorization | None = None,
    project_names: Mapping[int, str] | None = None,
) -> Snapshot:
    """`replicas`: every live replica (any state but STOPPED); READY ones become targets.
    `authorization` turns a handle's sealed replica key into the header value to send."""
    of_endpoint = group_replicas(replicas)
    by_project: dict[int, list[Endpoint]] = defaultdict(list)
    for endpoint in endpoints:
        by_project[endpoint.project_id].append(endpoint)
    names = project_names or {}
    parts = {
        project_id: build_project(
            members, of_endpoint, names.get(project_id, ""), dialects, authorization
        )
        for project_id, members in by_project.items()
    }
    return Snapshot().with_projects(parts)


def group_replicas(replicas: Iterable[Replica]) -> dict[int, list[Replica]]:
    of_endpoint: dict[int, list[Replica]] = defaultdict(list)
    for replica in replicas:
        of_endpoint[replica.endpoint_id].append(replica)
    return of_endpoint


def build_project(
    endpoints: Iterable[Endpoint],
    of_endpoint: Mapping[int, Sequence[Replica]],
    project_name: str,
    dialects: Mapping[str, DialectNames] = DIALECT_NAMES,
    authorization: Authorization | None = None,
) -> ProjectRoutes:
    """One project's part from its endpoints (those not RUNNING are left out)."""
    running = [
        (e, _route(e, of_endpoint.get(e.id, ()), project_name, authorization))
        for e in sorted(endpoints, key=lambda e: e.id)
        if e.desired_state is DesiredState.RUNNING
    ]
    clashes: set[str] = set()
    by_alias, listed = _alias_index(running, dialects, clashes)
    routes = tuple(sorted((r for _, r in running), key=lambda r: r.name))
    return ProjectRoutes({r.name: r for r in routes}, routes, by_alias, listed, frozenset(clashes))


def _route(
    endpoint: Endpoint,
    replicas: Sequence[Replica],
    project_name: str,
    authorization: Authorization | None,
) -> EndpointRoute:
    targets = []
    for replica in replicas:
        url = replica.url
        if url is not None and replica.state is ReplicaState.READY:
            sealed = replica.handle.sealed_key if replica.handle is not None else None
            header = authorization(sealed) if sealed is not None and authorization else None
            targets.append(ReplicaTarget(replica.id, url, header))
    route = EndpointRoute(
        endpoint_id=endpoint.id,
        project_id=endpoint.project_id,
        name=endpoint.name,
        replicas=tuple(sorted(targets, key=lambda t: t.replica_id)),
        max_concurrency=endpoint.spec.max_concurrency,
        created=int(endpoint.created_at.timestamp()),
        framework=endpoint.spec.framework,
        async_enabled=endpoint.spec.async_config.enabled,
        async_paths=_async_paths(endpoint.spec.async_config),
        project_name=project_name,
    )
    if not route.replicas:
        route = replace(route, unavailable=why_unavailable(endpoint, replicas))
    return route


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
) -> tuple[dict[AliasKey, EndpointRoute], dict[str, Listing]]:
    """Each dialect's model names in one project, and what its model list shows.

    On a clash a name from the extensions beats an endpoint's own name, then the older
    endpoint (lower id) keeps it; each clash is described in `clashes`. `running` is by id.
    """
    by_alias: dict[AliasKey, EndpointRoute] = {}
    listed: dict[str, list[tuple[str, EndpointRoute]]] = defaultdict(list)
    for dialect, rule in dialects.items():
        names_of = {
            route.endpoint_id: (
                *explicit_names(dialect, endpoint.spec.extensions),
                *((route.name,) if rule.by_endpoint_name else ()),
            )
            for endpoint, route in running
        }
        own = 1 if rule.by_endpoint_name else 0
        for _, route in running:  # explicit names first, so they win over own names
            names = names_of[route.endpoint_id]
            for alias in names[: len(names) - own]:
                _claim(by_alias, (dialect, alias), route, clashes)
        if rule.by_endpoint_name:
            for _, route in running:
                _claim(by_alias, (dialect, route.name), route, clashes)
        for _, route in running:
            for alias in names_of[route.endpoint_id]:
                if by_alias[(dialect, alias)] is route:
                    listed[dialect].append((alias, route))
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
            f"{key[0]} model name {key[1]!r} of endpoint {route.name!r} already means "
            f"endpoint {taken.name!r}"
        )
