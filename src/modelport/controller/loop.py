"""The controller loop: observe -> plan -> apply for every endpoint, once per tick, while leader.

Replicas are never stopped on shutdown: they outlive the control plane and the next controller
adopts those whose process still runs. Only the lease holder acts, and only while its lease has
time to spare (controller/lease.py); every store write it makes carries the lease's fence, and a
refused one (LeaseLost) ends the tick and demotes it to standby.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence

from modelport.clock import Clock
from modelport.controller.apply import Applier, EngineInstalls, RegistryLookup
from modelport.controller.autoscale import Autoscaler, BacklogLookup, LoadSource, no_load
from modelport.controller.capacity import GpuPool, GpuPools
from modelport.controller.facts import PlannerPolicy
from modelport.controller.fetching import ModelStaging
from modelport.controller.lease import LeaseKeeper
from modelport.controller.metering import ReplicaMeter
from modelport.controller.observe import AdapterLookup, InflightLookup, Observer, ProbeSpecs
from modelport.controller.planner import plan
from modelport.controller.probes import ProbeRunner
from modelport.controller.selection import TickSelector
from modelport.controller.shared_load import DemandRead, no_demand
from modelport.domain.decisions import CreateReplica, EventReason, LaunchReplica
from modelport.domain.errors import LeaseLost
from modelport.domain.records import Endpoint, Replica
from modelport.engines.install_status import read_install
from modelport.engines.registry import get_adapter
from modelport.models.fetch import ModelFetcher
from modelport.runtime.base import RuntimeBackend
from modelport.security.secrets import SecretBox
from modelport.settings import Settings
from modelport.store.base import Store

log = logging.getLogger(__name__)

LEASE_NAME = "controller"
# Woken ticks (poke, a probe that ended) come at most this often, so a burst of pokes (every
# request held at zero) does not turn into a busy loop.
MIN_TICK_GAP = 0.02


class Controller:
    def __init__(
        self,
        store: Store,
        runtime: RuntimeBackend,
        box: SecretBox,
        clock: Clock,
        settings: Settings,
        inflight: InflightLookup | None = None,
        holder_id: str | None = None,
        adapters: AdapterLookup = get_adapter,
        policy: PlannerPolicy | None = None,
        on_routes_changed: Callable[[], None] = lambda: None,
        load: LoadSource = no_load,
        backlog: BacklogLookup | None = None,
        fetcher: ModelFetcher | None = None,  # None: model files are never fetched
        registry_login: RegistryLookup | None = None,  # private images' logins, at launch
        demand: DemandRead = no_demand,  # endpoints held on other servers (SharedLoad.refresh)
        meter: ReplicaMeter | None = None,  # usage: replica-seconds by plan, graph gauges
        engine_installs: EngineInstalls = read_install,  # engines installed in the background
    ) -> None:
        self._store = store
        self._runtime = runtime
        self._meter = meter
        self._clock = clock
        self._interval = settings.reconcile_interval
        self._policy = policy or PlannerPolicy.from_settings(settings)
        self.holder_id = holder_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._lease = LeaseKeeper(store, LEASE_NAME, self.holder_id, clock, self._interval)
        self._wake = asyncio.Event()
        # Probes send replica keys; an outcome that may move a replica wakes the loop at once.
        self._probes = ProbeRunner(
            runtime,
            clock,
            unseal=box.decrypt,
            on_news=self.poke,
            startup_interval=settings.startup_probe_interval,
        )
        self._probe_specs = probe_specs = ProbeSpecs(adapters, box)
        self._observer = Observer(runtime, self._probes, probe_specs, inflight or _none_inflight)
        self._models = (
            None
            if fetcher is None
            else ModelStaging(
                fetcher,
                store,
                box,
                clock,
                backoff=self._policy.backoff,
                fence=self._lease.fence,
                on_done=self.poke,  # a fetch ended: launch its replicas now
            )
        )
        self._applier = Applier(
            store,
            runtime,
            box,
            clock,
            adapters,
            self._policy,
            settings.stop_grace_seconds,
            self._probes,
            on_routes_changed,
            self._lease.fence,
            self._models,
            registry_login,
            keep_lease=self._lease.keep,
            engine_installs=engine_installs,
        )
        self._autoscaler = Autoscaler(
            store,
            clock,
            self._lease.fence,
            interval=self._interval,
            unseal=box.decrypt,
            load=load,
            backlog=backlog,
            cpu=runtime,
        )
        self._reported: dict[int, str] = {}  # endpoint id -> the error already reported
        self._selector = TickSelector(clock, settings.controller_resync_interval)
        self._term: int | None = None  # the lease generation this controller leads with
        self._demand = demand

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every reconcile_interval while holding the lease, until `stop` is set."""
        loop = asyncio.get_running_loop()
        try:
            while not stop.is_set():
                began = loop.time()
                self._wake.clear()  # a poke from now on means another tick
                try:
                    await self.tick_if_leader()
                except Exception:
                    log.exception("controller tick failed; trying again next tick")
                await self._pause(stop)
                await asyncio.sleep(max(0.0, began + MIN_TICK_GAP - loop.time()))
        finally:
            await self._release_lease()

    def poke(self, endpoint_id: int | None = None) -> None:
        """Tick now instead of at the next interval: a request waits for an endpoint with no
        READY replica (scale from zero), or a probe ended. Call it on the loop's thread."""
        if endpoint_id is not None:
            self._selector.carry(endpoint_id)
        self._wake.set()

    async def _pause(self, stop: asyncio.Event) -> None:
        """Until the next tick is due, `stop` is set or someone pokes."""
        waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=self._interval, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in waits:
                waiting.cancel()

    async def tick_if_leader(self) -> bool:
        """Take or renew the lease; tick if it is ours. True if this controller acted all tick."""
        held = await self._lease.acquire()
        self._enter_term(self._lease.generation if held else None)
        if not held:
            return False
        try:
            await self.tick()
        except LeaseLost as exc:
            log.warning("controller %s stops acting mid-tick: %s", self.holder_id, exc.message)
            self._enter_term(None)
            return False
        return True

    async def tick(self) -> None:
        """One reconcile pass over every endpoint; one endpoint's error never stops the others.

        Driven directly (unit tests) it acts without a lease; under tick_if_leader it renews the
        lease between endpoints and raises LeaseLost once it must stop acting.
        """
        for endpoint_id in await self._demand():
            self._selector.carry(endpoint_id)  # requests held on another server: wake it now
        endpoints, replicas = await self._select()
        by_endpoint: dict[int, list[Replica]] = defaultdict(list)
        for replica in replicas:
            by_endpoint[replica.endpoint_id].append(replica)
        gpus = GpuPools.of(self._runtime, endpoints, by_endpoint)
        self._autoscaler.collect(endpoints)
        if self._meter is not None:
            await self._meter.tick(endpoints, replicas)
        for endpoint in endpoints:
            await self._lease.keep()
            # Before reconciling, so a new replica count is planned in this same tick.
            endpoint = await self._autoscale(endpoint, by_endpoint[endpoint.id])
            try:
                pool = await self._reconcile(
                    endpoint, by_endpoint[endpoint.id], gpus.of_endpoint(endpoint)
                )
                gpus = gpus.after(endpoint, pool)
            except LeaseLost:
                raise
            except Exception as exc:
                self._selector.carry(endpoint.id)  # retried next tick, changed or not
                await self._report(endpoint, exc)
            else:
                self._reported.pop(endpoint.id, None)
        known = {r.id for r in replicas}
        self._probes.forget_all_but(known)
        self._probe_specs.prune(endpoints)
        self._applier.forget_stops_but(known)
        self._autoscaler.forget_all_but(known, {e.id for e in endpoints})

    async def _select(self) -> tuple[Sequence[Endpoint], Sequence[Replica]]:
        """This tick's endpoints and their live replicas: all of them on a full pass, else
        only those that changed or need watching (controller/selection.py)."""
        found = await asyncio.to_thread(self._store.reconcile_candidates, self._selector.since)
        ids = self._selector.choose(found)
        if ids is None:
            endpoints = await asyncio.to_thread(self._store.list_endpoints)
            return endpoints, await asyncio.to_thread(self._store.list_replicas)
        endpoints = await asyncio.to_thread(self._store.get_endpoints, ids)
        return endpoints, await asyncio.to_thread(self._store.list_replicas_of, ids)

    async def wait_for_stops(self) -> None:
        """Until every replica stop begun so far has ended (bounded by the grace period)."""
        await self._applier.wait_for_stops()

    async def wait_for_probes(self) -> None:
        """Until every probe started so far has ended (each bounded by its timeout)."""
        await self._probes.wait()

    async def shutdown(self) -> None:
        """Cancel probes and close their connections, finish stopping processes no record owns.
        Replicas keep running on purpose; one whose stop was under way is still in the store,
        in its old state, and the next controller stops it again."""
        await self._applier.close()
        await self._probes.close()
        if self._models is not None:
            await self._models.close()
        await self._autoscaler.close()
        if self._meter is not None:
            await self._meter.close()

    def _enter_term(self, term: int | None) -> None:
        """Lead with lease generation `term`, or stand by (None). Stops and probes begun in an
        earlier term are abandoned: the store says what the new term must stop and probe."""
        if term == self._term:
            return
        if term is None:
            log.info("controller %s stands by", self.holder_id)
        else:
            log.info("controller %s leads (lease generation %d)", self.holder_id, term)
        self._selector.resync_soon()  # a new term starts from a full pass
        self._applier.abandon_stops()
        self._probes.abandon()  # counters too: the new term counts from zero
        self._autoscaler.reset()  # what it remembered may be stale: start cautious
        self._term = term

    async def _autoscale(self, endpoint: Endpoint, replicas: Sequence[Replica]) -> Endpoint:
        """The endpoint after the autoscaler's decision; its failure never stops reconciling."""
        try:
            return await self._autoscaler.scale(endpoint, replicas)
        except LeaseLost:
            raise
        except Exception:
            log.exception("autoscaling endpoint %s (id %d) failed", endpoint.name, endpoint.id)
            return endpoint

    async def _reconcile(
        self, endpoint: Endpoint, replicas: Sequence[Replica], gpus: GpuPool
    ) -> GpuPool:
        seen = await self._observer.observe(endpoint, replicas, gpus)
        await self._lease.keep()  # asking the runtime may take a while: renew before acting
        decisions = plan(endpoint, replicas, seen, self._clock.now(), self._policy)
        await self._applier.apply(endpoint, replicas, decisions)
        for decision in decisions:
            if isinstance(decision, LaunchReplica):
                gpus = gpus.take(endpoint.spec.resources)
            self._selector.carry(endpoint.id)  # acted: look again next tick
            if isinstance(decision, CreateReplica | LaunchReplica):
                # Launched, then probed, by the next tick at once, not an interval later: two
                # intervals of a scale-from-zero's wait otherwise.
                self.poke()
        return gpus

    async def _report(self, endpoint: Endpoint, exc: Exception) -> None:
        """Log with traceback and write one event per distinct error (not one per tick)."""
        message = f"{type(exc).__name__}: {exc}"
        if self._reported.get(endpoint.id) == message:
            log.debug("endpoint %s still failing: %s", endpoint.name, message)
            return
        self._reported[endpoint.id] = message
        log.exception("reconciling endpoint %s (id %d) failed", endpoint.name, endpoint.id)
        try:
            await self._applier.event(
                endpoint, EventReason.RECONCILE_ERROR, f"{message}; retrying every tick"
            )
        except Exception:
            log.exception("could not record the error of endpoint %s", endpoint.name)

    async def _release_lease(self) -> None:
        self._enter_term(None)
        try:
            await self._lease.release()
        except Exception:
            log.exception("could not release the controller lease; it expires on its own")


def _none_inflight(_replica_id: int) -> int:
    return 0
