"""Builds a server process's async parts: the gateway's intake and the worker pool."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from modelport.clock import Clock
from modelport.gateway.balancing import Balancer
from modelport.gateway.metering import UsageMeter
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.proxy import Proxy
from modelport.gateway.routes import RouteTable
from modelport.invocations.intake import Intake
from modelport.invocations.workers import InvocationWorkers, WorkerSettings
from modelport.services.invocation_results import ResultStores
from modelport.services.invocations import InvocationService
from modelport.settings import Settings
from modelport.store.base import Store


@dataclass(frozen=True, slots=True)
class AsyncParts:
    intake: Intake  # the gateway's async_intake
    workers: InvocationWorkers  # run(stop) beside the controller


def build_async(
    store: Store,
    clock: Clock,
    settings: Settings,
    service: InvocationService,
    results: ResultStores,
    routes: RouteTable,
    balancer: Balancer,
    metrics: GatewayMetrics,
    meter: UsageMeter | None = None,
) -> AsyncParts:
    """Workers call replicas through a Proxy on the gateway's own Balancer and RouteTable."""
    workers = InvocationWorkers(
        store,
        clock,
        routes,
        Proxy(balancer, metrics, settings.upstream_timeout),
        results,
        WorkerSettings(
            owner=f"workers-{uuid.uuid4().hex[:12]}",
            lease_seconds=settings.async_lease_seconds,
            max_attempts=settings.async_max_attempts,
        ),
        meter,  # async calls are metered as live ones, by the same process
    )
    return AsyncParts(Intake(service, workers.wake), workers)
