"""The autoscaler in the controller: feeds the pure policy (autoscaler/) and writes its count.

Every leader tick, before endpoints are reconciled (so a new count is planned in the same
tick), `collect` takes the gateway's load reports into one MetricsWindow, then `scale` runs for
each endpoint: for a RUNNING endpoint with autoscaling on it reads the window, counts the
replicas, asks `decide`, and when the count changes writes it with the endpoint's
compare-and-set (`Store.set_scale_target`, carrying the lease fence) plus one `Scaled` event
whose message is the decision's inputs ("concurrency 7.5/replica > target 4 over 10 s: 2 -> 4").
A Conflict (another decision moved it first) is skipped: the next tick reads again. LeaseLost
propagates and ends the tick.

Nothing here writes per request: gateways report in-flight counts and completions when asked
(`LoadSource`, called once a tick); READY replicas' engine gauges for `custom` rules are
scraped in the background (engine_metrics.py); for `cpu` rules the runtime's CPU-seconds
counter of each READY replica is read every tick (a few /proc reads for the local runtime) and
turned into a percent of the cores its spec gives it (CpuMeter); the async backlog is asked per
endpoint.

What the policy remembers (start, last change, last demand) lives in memory per endpoint; a
controller that restarts or takes over starts with a fresh, cautious one. Time is the clock's
monotonic seconds; stored datetimes are turned into it where needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial

from modelport.autoscaler.policy import Decision, Memory, Replicas, decide, retention
from modelport.autoscaler.window import (
    EndpointMetrics,
    GatewayReport,
    GaugeKey,
    MetricsWindow,
    engine_metric,
)
from modelport.clock import Clock
from modelport.controller.engine_metrics import (
    CPU_GAUGE,
    CpuCounter,
    CpuMeter,
    EngineSample,
    EngineScraper,
)
from modelport.domain.decisions import EventReason
from modelport.domain.errors import Conflict
from modelport.domain.phases import is_waiting_for_capacity
from modelport.domain.records import Endpoint, EventLevel, LeaseFence, Replica, ReplicaHandle
from modelport.domain.scaling import ScaleChange, ScaleReason
from modelport.domain.specs import AutoscalePolicy, ScaleMetric
from modelport.domain.states import DesiredState, ReplicaState
from modelport.store.base import Store

log = logging.getLogger(__name__)

# What the gateway(s) saw since the previous call: one report per endpoint per gateway process.
LoadSource = Callable[[float], Sequence[GatewayReport]]
# Async invocations queued for an endpoint (demand not in flight yet).
BacklogLookup = Callable[[int], int]

STALE_TICKS = 3  # a reporter (or replica) silent this many ticks no longer counts
_CPU = engine_metric(CPU_GAUGE)


def no_load(_now: float) -> Sequence[GatewayReport]:
    return ()


def count_replicas(target: int, replicas: Sequence[Replica]) -> Replicas:
    """The endpoint's replicas as the policy sees them; `target` is its wanted count."""
    states = [r.state for r in replicas]
    return Replicas(
        target=target,
        ready=states.count(ReplicaState.READY),
        starting=states.count(ReplicaState.STARTING),
        pending=states.count(ReplicaState.PENDING) + states.count(ReplicaState.FAILED),
        unplaceable=sum(is_waiting_for_capacity(r) for r in replicas),
    )


def acted_on(policy: AutoscalePolicy, metrics: EndpointMetrics) -> AutoscalePolicy:
    """The policy without `cpu` rules while no replica of the endpoint has a fresh CPU reading
    (the runtime cannot measure it, or no replica has served two ticks yet): their reading
    would be 0 and would scale down whatever the real load."""
    if _has_fresh(metrics, _CPU):
        return policy
    rules = [r for r in policy.rules if r.metric is not ScaleMetric.CPU]
    return policy if len(rules) == len(policy.rules) else policy.model_copy(update={"rules": rules})


def _has_fresh(metrics: EndpointMetrics, key: GaugeKey) -> bool:
    sources = metrics.gauges.get(key, ())
    return any(s and metrics.now - s[-1].at <= metrics.stale_after for s in sources)


class Autoscaler:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        fence: Callable[[], LeaseFence | None],
        *,
        interval: float,
        unseal: Callable[[str], str],
        load: LoadSource = no_load,
        backlog: BacklogLookup | None = None,
        cpu: CpuCounter | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._fence = fence
        self._load = load
        self._backlog = backlog
        stale = STALE_TICKS * interval
        self._window = MetricsWindow(retention=max(60.0, stale), stale_after=stale)
        self._scraper = EngineScraper(clock, self._scraped, unseal)
        self._cpu = None if cpu is None else CpuMeter(clock, cpu, self._scraped, fresh=stale)
        self._memory: dict[int, Memory] = {}
        self._watched: set[str] = set()  # window keys of endpoints being autoscaled
        self._paused: set[int] = set()  # seen stopped: when started again, cooldown anew

    def collect(self, endpoints: Sequence[Endpoint]) -> None:
        """Take the gateways' reports for the endpoints being autoscaled; forget the rest."""
        watched = {str(e.id) for e in endpoints if _autoscaled(e)}
        for gone in self._watched - watched:
            self._window.forget(gone)
        self._watched = watched
        try:
            reports = self._load(self._clock.monotonic())
        except Exception:
            log.exception("the gateway's load reports could not be read; deciding without them")
            return
        for report in reports:
            if report.endpoint in watched:
                self._window.report(report)

    async def scale(self, endpoint: Endpoint, replicas: Sequence[Replica]) -> Endpoint:
        """Decide for one endpoint; the endpoint as it is after any change written."""
        if not _autoscaled(endpoint):
            self._memory.pop(endpoint.id, None)
            self._paused.add(endpoint.id)
            return await self._follow_manual_count(endpoint)
        policy = endpoint.spec.autoscale
        key = str(endpoint.id)
        self._window.retention = max(self._window.retention, retention(policy))
        if self._backlog is not None:
            queued = await asyncio.to_thread(self._backlog, endpoint.id)
            self._window.backlog(key, self._clock.monotonic(), queued)
        self._scrape(endpoint, replicas, policy)
        await self._measure_cpu(endpoint, replicas, policy)
        now = self._clock.monotonic()  # after the readings, so the snapshot holds them
        metrics = self._window.snapshot(key, now)
        memory = self._memory.get(endpoint.id) or Memory.fresh(self._started_at(endpoint), now)
        counts = count_replicas(endpoint.wanted_replicas, replicas)
        acting = acted_on(policy, metrics)
        decision = decide(acting, metrics, counts, memory, now)
        self._memory[endpoint.id] = decision.memory
        if not decision.changed:
            return endpoint
        if decision.reason is ScaleReason.SCALE_DOWN and self._cpu_blind(endpoint.id, acting):
            # Part of the load was not seen: not changed after all (as a Conflict, below).
            self._memory[endpoint.id] = replace(
                decision.memory, last_change_at=memory.last_change_at
            )
            log.debug(
                "endpoint %s: %s held: a replica's CPU unseen", endpoint.name, decision.detail
            )
            return endpoint
        return await self._write(endpoint, decision, memory)

    def forget_all_but(self, replica_ids: set[int], endpoint_ids: set[int]) -> None:
        self._scraper.forget_all_but(replica_ids)
        if self._cpu is not None:
            self._cpu.forget_all_but(replica_ids, endpoint_ids)
        for gone in set(self._memory) - endpoint_ids:
            del self._memory[gone]
        self._paused &= endpoint_ids

    def reset(self) -> None:
        """A new term (or standing by): what was remembered may be stale; start cautious."""
        self._memory.clear()

    async def close(self) -> None:
        await self._scraper.close()

    async def wait_for_scrapes(self) -> None:
        await self._scraper.wait()

    async def _write(self, endpoint: Endpoint, decision: Decision, before: Memory) -> Endpoint:
        try:
            updated = await asyncio.to_thread(
                partial(
                    self._store.set_scale_target,
                    endpoint.id,
                    expected=endpoint.scale_target,
                    target=decision.desired,
                    now=self._clock.now(),
                    fence=self._fence(),
                )
            )
        except Conflict as exc:
            # Not changed after all: keep the last change where it was; next tick reads again.
            self._memory[endpoint.id] = replace(
                decision.memory, last_change_at=before.last_change_at
            )
            log.info("endpoint %s: scale decision skipped: %s", endpoint.name, exc.message)
            return endpoint
        log.info("endpoint %s scaled (%s): %s", endpoint.name, decision.reason, decision.detail)
        change = ScaleChange(
            reason=decision.reason,
            from_replicas=decision.current,
            to_replicas=decision.desired,
            detail=decision.why,
        )
        await asyncio.to_thread(
            partial(
                self._store.add_event,
                endpoint.id,
                level=EventLevel.INFO,
                reason=EventReason.SCALED.value,
                message=change.message,
                now=self._clock.now(),
                fence=self._fence(),
                scale=change,
            )
        )
        return updated

    async def _follow_manual_count(self, endpoint: Endpoint) -> Endpoint:
        """With autoscaling off the spec's `replicas` rules; the stored target follows it, so
        turning autoscaling on later starts from what runs, not from a stale old decision."""
        manual = endpoint.spec.replicas
        if endpoint.scale_target is None or endpoint.scale_target == manual:
            return endpoint
        try:
            return await asyncio.to_thread(
                partial(
                    self._store.set_scale_target,
                    endpoint.id,
                    expected=endpoint.scale_target,
                    target=manual,
                    now=self._clock.now(),
                    fence=self._fence(),
                )
            )
        except Conflict:
            return endpoint

    def _scrape(
        self, endpoint: Endpoint, replicas: Sequence[Replica], policy: AutoscalePolicy
    ) -> None:
        rules = [r for r in policy.rules if r.metric is ScaleMetric.CUSTOM and r.custom_metric_name]
        if rules:
            names = {r.custom_metric_name for r in rules if r.custom_metric_name}
            every = min(r.granularity_seconds for r in rules)
            self._scraper.due(endpoint.id, _serving(replicas), names, every)

    async def _measure_cpu(
        self, endpoint: Endpoint, replicas: Sequence[Replica], policy: AutoscalePolicy
    ) -> None:
        """READY replicas only: a starting one's CPU is its engine loading, not load (it counts
        as capacity with no load seen yet, as in the other metrics)."""
        if self._cpu is not None and any(r.metric is ScaleMetric.CPU for r in policy.rules):
            cores = endpoint.spec.resources.cpu
            await self._cpu.sample(endpoint.id, _serving(replicas), cores)

    def _scraped(self, sample: EngineSample) -> None:
        if sample.endpoint in self._watched:
            self._window.scrape(
                sample.endpoint, sample.replica, sample.name, sample.at, sample.value
            )

    def _started_at(self, endpoint: Endpoint) -> float:
        """When the endpoint started, in monotonic seconds: its creation, or now when this
        controller saw it stopped (or autoscaling off) and then running again."""
        now = self._clock.monotonic()
        if endpoint.id in self._paused:
            self._paused.discard(endpoint.id)
            return now
        age = (self._clock.now() - endpoint.created_at).total_seconds()
        return now - max(0.0, age)

    def _cpu_blind(self, endpoint_id: int, policy: AutoscalePolicy) -> bool:
        """Whether a cpu rule acts and a READY replica went unmeasured within what its scale-down
        reads (window + watch period): that replica's load is missing from the total."""
        spans = [
            r.window_seconds + r.watch_period_seconds + r.granularity_seconds
            for r in policy.rules
            if r.metric is ScaleMetric.CPU
        ]
        return (
            self._cpu is not None
            and bool(spans)
            and self._cpu.blind_within(endpoint_id, max(spans))
        )


def _serving(replicas: Sequence[Replica]) -> list[tuple[int, ReplicaHandle]]:
    return [
        (r.id, r.handle) for r in replicas if r.state is ReplicaState.READY and r.handle is not None
    ]


def _autoscaled(endpoint: Endpoint) -> bool:
    return endpoint.desired_state is DesiredState.RUNNING and endpoint.spec.autoscale.enabled
