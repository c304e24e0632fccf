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
from modelport.dialects.registry import mount_dialects
from modelport.domain.specs import RuntimeKind
from modelport.gateway.app import Gateway, create_gateway
from modelport.gateway.balancing import Balancer
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.invocations.wiring import build_async
from modelport.models.cache import ModelCache
from modelport.models.fetch import ModelFetcher
from modelport.models.hub import HubClient
from modelport.runtime.base import RuntimeBackend
from modelport.runtime.docker import DockerRuntime, install_id
from modelport.runtime.isolation import ReplicaIsolation
from modelport.runtime.local import LocalRuntime
from modelport.runtime.router import RuntimeRouter
from modelport.security.secrets import SecretBox
from modelport.server.dispatch import ASGIApp, Dispatcher
from modelport.services.auth import Authenticator
from modelport.services.bootstrap import ensure_bootstrap
from modelport.services.invocations import results_in
from modelport.settings import Settings
from modelport.store.repositories import SqlStore, open_store

log = logging.getLogger("modelport.server")


@dataclass
class Components:
    settings: Settings
    store: SqlStore
    asgi_app: ASGIApp
    gateway: Gateway  # also served without ASGI by the fast path (server/fast_protocol.py)
    first_admin_token: str | None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self) -> None:
        self.store.close()


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
        else:
            raise ValueError(f"MODELPORT_RUNTIMES: the {kind.value} runtime is not available")
    return RuntimeRouter(backends, default=settings.runtime)


def build_components(settings: Settings) -> Components:
    settings.ensure_home()
    clock = SystemClock()
    store = open_store(settings.effective_database_url)
    box = SecretBox.from_key_file(settings.secret_key_path, settings.secret_key)
    first_token = ensure_bootstrap(store, settings)
    authenticator = Authenticator(store, clock)
    isolation = ReplicaIsolation.from_settings(
        settings.replica_dir, settings.replica_user, settings.home
    )
    runtime = build_runtime(settings, isolation)

    route_table = RouteTable(unseal=box.decrypt)  # the replica keys the proxy sends
    balancer = Balancer()
    metrics = GatewayMetrics()
    # A management change waits until the route table shows it: a client that got its answer
    # finds the endpoint on its very next request.
    services = ApiServices.build(store, box, clock, settings, routes_changed=route_table.wait_fresh)
    assert services.invocations is not None and services.datasets is not None  # build() sets them
    queued = build_async(
        store, clock, settings, services.invocations, results_in(services.datasets),
        route_table, balancer, metrics,
    )  # fmt: skip
    gateway = create_gateway(
        store, authenticator, route_table, balancer, metrics, settings, async_intake=queued.intake,
        on_demand=lambda endpoint_id: controller.poke(endpoint_id),  # late-bound: built below
    )  # fmt: skip
    api = create_app(services, authenticator, settings)
    mount_dialects(api, services, authenticator, settings)
    cache = ModelCache(settings.model_cache_dir)
    fetcher = ModelFetcher(
        cache,
        HubClient(settings.hf_endpoint, cache.hf_cache),
        hf_token=services.integrations.hf_token if services.integrations else None,
        repository=services.models,  # model_id sources: the model repository's files
    )
    controller = Controller(
        store,
        runtime,
        box,
        clock,
        settings,
        inflight=balancer.inflight,
        holder_id=f"server-{uuid.uuid4().hex[:8]}",
        on_routes_changed=route_table.refresh_soon,
        backlog=services.invocations.backlog,  # queued async work is demand, also at zero
        load=gateway.load.collect,  # what this process's gateway saw, read once a tick
        fetcher=fetcher,  # model files onto this host before launch (hf_id, model_id)
        registry_login=services.integrations.registry_login if services.integrations else None,
    )

    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def on_startup() -> None:
        await gateway.startup()
        await route_table.refresh(store)
        tasks.append(asyncio.create_task(controller.run(stop), name="controller"))
        tasks.append(asyncio.create_task(queued.workers.run(stop), name="invocation-workers"))
        tasks.append(
            asyncio.create_task(
                route_table.run(store, settings.route_refresh_interval, stop), name="routes"
            )
        )
        log.info("server started")

    async def on_shutdown() -> None:
        stop.set()
        for task in tasks:
            # A task that does not notice `stop` in time is cancelled; shutdown must go on.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10)
        await controller.shutdown()
        await gateway.shutdown()
        log.info("server stopped; replicas keep running and are adopted on the next start")

    app = Dispatcher(gateway, api, on_startup, on_shutdown)
    return Components(settings, store, app, gateway, first_token, _tasks=tasks)
