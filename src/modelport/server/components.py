"""Builds every long-lived object of a server process from Settings, in dependency order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field

from modelport.api.app import ApiServices, create_app
from modelport.clock import SystemClock
from modelport.controller.loop import Controller
from modelport.controller.metering import ReplicaMeter
from modelport.controller.shared_load import SharedLoad
from modelport.dialects.registry import mount_dialects
from modelport.domain.specs import RuntimeKind
from modelport.gateway.app import Gateway, create_gateway
from modelport.gateway.asgi import ASGIApp
from modelport.gateway.balancing import Balancer
from modelport.gateway.load import LoadBoard
from modelport.gateway.load_ledger import LoadLedger, holding
from modelport.gateway.load_publisher import LoadPublisher
from modelport.gateway.metering import UsageFlusher, UsageMeter
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.gateway.shared_counts import SharedCounts
from modelport.invocations.wiring import build_async
from modelport.models.cache import ModelCache
from modelport.models.fetch import ModelFetcher
from modelport.models.hub import HubClient
from modelport.runtime.base import RuntimeBackend
from modelport.runtime.docker import DockerRuntime, install_id
from modelport.runtime.isolation import ReplicaIsolation
from modelport.runtime.local import LocalRuntime
from modelport.runtime.ray import RayRuntime
from modelport.runtime.router import RuntimeRouter
from modelport.security.secrets import SecretBox
from modelport.security.sessions import SessionCookies
from modelport.server.dispatch import Dispatcher
from modelport.server.peers import MAIN_SLOT, PeerLink
from modelport.server.workers import Supervisor, Team
from modelport.services.auth import Authenticator
from modelport.services.bootstrap import ensure_bootstrap
from modelport.services.invocations import results_in
from modelport.services.usage import UsageService
from modelport.settings import Settings
from modelport.store.repositories import SqlStore, open_store
from modelport.ui.app import mount_ui

log = logging.getLogger("modelport.server")


@dataclass
class Components:
    settings: Settings
    store: SqlStore
    asgi_app: ASGIApp
    gateway: Gateway  # also served without ASGI by the fast path (server/fast_protocol.py)
    first_admin_token: str | None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _counts: SharedCounts | None = None  # attached shared counts (several gateway processes)

    def close(self) -> None:
        self.store.close()
        if self._counts is not None:
            self._counts.close()


def build_runtime(settings: Settings, isolation: ReplicaIsolation) -> RuntimeRouter:
    """Every runtime MODELPORT_RUNTIMES enables; launches go where a spec's runtime says."""
    backends: dict[RuntimeKind, RuntimeBackend] = {}
    for kind in settings.enabled_runtimes:
        if kind is RuntimeKind.LOCAL:
            backends[kind] = LocalRuntime(
                settings.logs_dir, host=settings.engine_host, isolation=isolation
            )
        elif kind is RuntimeKind.DOCKER:
            # Connects on first use: a daemon down at startup fails launches, not the server.
            backends[kind] = DockerRuntime(
                settings.logs_dir, install_id(settings.home), base_url=settings.docker_host
            )
        elif kind is RuntimeKind.RAY:
            namespace = settings.ray_namespace or f"modelport-{install_id(settings.home)}"
            backends[kind] = RayRuntime.on_cluster(
                settings.ray_address, namespace, settings.ray_start_local, settings.ray_node_path
            )
    return RuntimeRouter(backends, default=settings.runtime)


@dataclass
class _Parts:
    """What a team member adds to a process: its shared slot and its link to the others."""

    counts: SharedCounts
    link: PeerLink


def build_components(settings: Settings, team: Team | None = None) -> Components:
    """Everything of one server process. `team`: one of several gateway processes; only the
    main one (MAIN_SLOT) runs the controller and starts the others (server/workers.py)."""
    main = team is None or team.slot == MAIN_SLOT
    if main:
        settings.ensure_home()
    clock = SystemClock()
    store = open_store(settings.effective_database_url)
    box = SecretBox.from_key_file(settings.secret_key_path, settings.secret_key)
    first_token = ensure_bootstrap(store, settings) if main else None
    counts = SharedCounts.attach(team.layout) if team is not None else None
    # A revocation on any process ends every process's cached lookups of it.
    authenticator = Authenticator(store, clock, epoch=counts.auth_epoch() if counts else None)

    route_table = RouteTable(  # unseal: the replica keys the proxy sends
        unseal=box.decrypt, resync_interval=settings.route_resync_interval
    )
    balancer = Balancer(shared=(counts, team.slot) if counts and team else None)
    controller: Controller | None = None  # built below (main process only); hooks late-bind
    publisher: LoadPublisher | None = None  # this server's load, for the leader (main only)
    parts = None
    if team is not None and counts is not None:
        parts = _Parts(
            counts,
            PeerLink(
                team.run_id,
                team.slot,
                counts,
                route_table,
                lambda e: _poke(controller, publisher, e),
            ),
        )
    metrics = GatewayMetrics(team.layout.metrics_folder if team else None)  # /metrics: all
    # A management change waits until the route table shows it (every process's, with several):
    # a client that got its answer finds the endpoint on its very next request.
    routes_changed = parts.link.wait_fresh if parts else route_table.wait_fresh
    services = ApiServices.build(store, box, clock, settings, routes_changed=routes_changed)
    assert services.invocations is not None and services.datasets is not None  # build() sets them
    meter = UsageMeter()
    queued = build_async(
        store, clock, settings, services.invocations, results_in(services.datasets),
        route_table, balancer, metrics, meter,
    )  # fmt: skip
    flusher = UsageFlusher(store, meter)
    on_demand = parts.link.poke if parts and not main else lambda e: _poke(controller, publisher, e)
    gateway = create_gateway(
        store, authenticator, route_table, balancer, metrics, settings, async_intake=queued.intake,
        on_demand=on_demand,  # a held request wakes the controller, from any process
        sessions=(sessions := SessionCookies(box)),  # the dashboard's cookie, as the API's
        meter=meter,  # this process's usage, added to the store every 10 s
    )  # fmt: skip
    api = create_app(services, authenticator, settings)
    api.state.usage = UsageService(store, services.plans, clock)  # GET /api/v1/usage, series
    mount_dialects(api, services, authenticator, settings)
    mount_ui(api, sessions)  # /ui: the dashboard's pages and sign-in sessions
    if main:
        controller, publisher = _controller(
            settings, store, box, clock, services, balancer, route_table, gateway, parts
        )

    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    supervisor = Supervisor(settings, team, counts) if main and team and counts else None

    async def on_startup() -> None:
        await gateway.startup()
        if parts is not None:
            parts.link.start()
        await route_table.refresh(store)
        if controller is not None:
            tasks.append(asyncio.create_task(controller.run(stop), name="controller"))
        if supervisor is not None:
            tasks.append(asyncio.create_task(supervisor.run(stop), name="gateway-workers"))
        if publisher is not None:
            tasks.append(asyncio.create_task(publisher.run(stop), name="load-publisher"))
        tasks.append(asyncio.create_task(queued.workers.run(stop), name="invocation-workers"))
        tasks.append(asyncio.create_task(flusher.run(stop), name="usage-flusher"))
        tasks.append(
            asyncio.create_task(
                route_table.run(store, settings.route_refresh_interval, stop), name="routes"
            )
        )
        log.info("server process %s started", team.slot if team else MAIN_SLOT)

    async def on_shutdown() -> None:
        stop.set()
        if supervisor is not None:
            await supervisor.stop_all()
        for task in tasks:
            # A task that does not notice `stop` in time is cancelled; shutdown must go on.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10)
        if controller is not None:
            await controller.shutdown()
        await gateway.shutdown()
        await flusher.flush()  # what requests that ended during shutdown used
        if parts is not None:
            parts.link.close()
        if main:
            log.info("server stopped; replicas keep running and are adopted on the next start")

    app = Dispatcher(gateway, api, on_startup, on_shutdown)
    return Components(settings, store, app, gateway, first_token, _tasks=tasks, _counts=counts)


def _poke(controller: Controller | None, publisher: LoadPublisher | None, endpoint_id: int) -> None:
    """A request is held for an endpoint with no READY replica: this server's controller acts
    if it leads; the published load tells the leader otherwise."""
    if controller is not None:
        controller.poke(endpoint_id)
    if publisher is not None:
        publisher.demand(endpoint_id)


def _controller(
    settings: Settings,
    store: SqlStore,
    box: SecretBox,
    clock: SystemClock,
    services: ApiServices,
    balancer: Balancer,
    route_table: RouteTable,
    gateway: Gateway,
    parts: _Parts | None,
) -> tuple[Controller, LoadPublisher]:
    """The main process's controller: it sees every gateway process's load and in-flight counts
    (`balancer.inflight` reads the shared slots) and, while it leads, the other servers' (from
    the store: SharedLoad); a replica moving into or out of READY refreshes every process's
    routes. And what publishes this server's load for whichever controller leads."""
    isolation = ReplicaIsolation.from_settings(
        settings.replica_dir, settings.replica_user, settings.home
    )
    runtime = build_runtime(settings, isolation)
    assert services.invocations is not None  # ApiServices.build sets it
    cache = ModelCache(settings.model_cache_dir)
    fetcher = ModelFetcher(
        cache,
        HubClient(settings.hf_endpoint, cache.hf_cache),
        hf_token=services.integrations.hf_token if services.integrations else None,
        repository=services.models,  # model_id sources: the model repository's files
    )
    server = f"server-{uuid.uuid4().hex[:8]}"
    # What the gateway saw, read once a tick: every process's, with several.
    local = LoadBoard(parts.counts).collect if parts else gateway.load.collect
    ledger = LoadLedger(local, holding(route_table), balancer.replicas_in_flight)
    interval = settings.reconcile_interval
    shared = SharedLoad(
        store, clock, server, local=ledger.collect, local_inflight=balancer.inflight,
        interval=interval,
    )  # fmt: skip
    controller = Controller(
        store,
        runtime,
        box,
        clock,
        settings,
        inflight=shared.inflight,  # every server's requests to a draining replica
        holder_id=server,
        on_routes_changed=parts.link.routes_changed if parts else route_table.refresh_soon,
        backlog=services.invocations.backlog,  # queued async work is demand, also at zero
        load=shared.collect,  # this server's from memory, the other servers' from the store
        demand=shared.refresh,  # read once a tick: requests held on other servers wake it
        fetcher=fetcher,  # model files onto this host before launch (hf_id, model_id)
        registry_login=services.integrations.registry_login if services.integrations else None,
        # Usage: replica-seconds by plan and the graphs' gauges, accounted while leading.
        meter=ReplicaMeter(store, clock, services.plans, shared.inflight),
    )
    return controller, LoadPublisher(store, clock, server, ledger, interval)
