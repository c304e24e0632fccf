"""Observation: what the runtime, the probes and the gateway say about an endpoint's replicas."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from modelport.controller.capacity import GpuPool
from modelport.controller.facts import EndpointObservation, ReplicaObservation
from modelport.controller.probes import ProbeRunner, ResolvedProbes
from modelport.domain.launch import LaunchContext
from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import Framework, ProbeProtocol, ProbeSpec
from modelport.domain.states import LIVE_REPLICA_STATES, DesiredState, ReplicaState
from modelport.engines.base import EngineAdapter
from modelport.runtime.base import ProcessState, ProcessStatus, RuntimeBackend
from modelport.security.secrets import SecretBox
from modelport.services import spec_secrets

log = logging.getLogger(__name__)

AdapterLookup = Callable[[Framework], EngineAdapter]
InflightLookup = Callable[[int], int]

# When the engine adapter cannot even say what its probes are, a TCP connect is the least we know.
_FALLBACK_PROBE = ProbeSpec(protocol=ProbeProtocol.TCP)


class ProbeSpecs:
    """Which probes a replica runs: those its handle stored at launch (the plan's, resolved),
    else, for handles stored before the probes were (older rows), the current spec's resolved
    through its engine adapter, once per generation."""

    def __init__(self, adapters: AdapterLookup, box: SecretBox) -> None:
        self._adapters = adapters
        self._box = box
        self._by_generation: dict[tuple[int, int], ResolvedProbes] = {}

    def for_replica(self, endpoint: Endpoint, replica: Replica) -> ResolvedProbes:
        handle = replica.handle
        if handle is not None and handle.readiness is not None and handle.liveness is not None:
            return ResolvedProbes(handle.readiness, handle.liveness)
        key = (endpoint.id, endpoint.generation)
        if key not in self._by_generation:
            self._by_generation[key] = self._resolve(endpoint, replica)
        return self._by_generation[key]

    def _resolve(self, endpoint: Endpoint, replica: Replica) -> ResolvedProbes:
        spec = endpoint.spec
        assert replica.handle is not None
        try:
            ctx = LaunchContext(
                host=replica.handle.host,
                port=replica.handle.port,
                env=spec_secrets.engine_environment(spec, self._box),
                name=endpoint.name,
            )
            plan = self._adapters(spec.framework).plan(spec_secrets.unseal(spec, self._box), ctx)
        except Exception:
            # Cached per generation, so this is logged once; the replica is still watched.
            log.exception(
                "endpoint %s: the engine adapter cannot plan generation %d; probing with the "
                "spec's probes or a TCP connect",
                endpoint.name,
                endpoint.generation,
            )
            return ResolvedProbes(
                spec.readiness or _FALLBACK_PROBE, spec.liveness or _FALLBACK_PROBE
            )
        return ResolvedProbes.of(plan)

    def prune(self, endpoints: Sequence[Endpoint]) -> None:
        """Drop what belongs to generations that no longer exist."""
        current = {(e.id, e.generation) for e in endpoints}
        self._by_generation = {k: v for k, v in self._by_generation.items() if k in current}


class Observer:
    def __init__(
        self,
        runtime: RuntimeBackend,
        probes: ProbeRunner,
        probe_specs: ProbeSpecs,
        inflight: InflightLookup,
    ) -> None:
        self._runtime = runtime
        self._probes = probes
        self._probe_specs = probe_specs
        self._inflight = inflight

    async def observe(
        self, endpoint: Endpoint, replicas: Sequence[Replica], gpus: GpuPool
    ) -> EndpointObservation:
        seen = await asyncio.gather(*(self._replica(endpoint, r) for r in replicas))
        return EndpointObservation({r.id: s for r, s in zip(replicas, seen, strict=True)}, gpus)

    async def _replica(self, endpoint: Endpoint, replica: Replica) -> ReplicaObservation:
        if replica.state not in LIVE_REPLICA_STATES:
            return ReplicaObservation()
        if replica.handle is None:
            return ReplicaObservation(process=ProcessStatus(state=ProcessState.MISSING))
        process = await self._runtime.status(replica.handle)
        if replica.state is ReplicaState.DRAINING:
            return ReplicaObservation(process=process, inflight=self._inflight(replica.id))
        serving = endpoint.desired_state is DesiredState.RUNNING  # else all are retired
        if process.state is not ProcessState.RUNNING or not serving:
            return ReplicaObservation(process=process)
        probes = self._probe_specs.for_replica(endpoint, replica)
        verdict = self._probes.verdict(replica, probes)  # never waits on a probe
        return ReplicaObservation(
            process=process,
            readiness_passed=verdict.readiness_passed,
            readiness_failed=verdict.readiness_failed,
            liveness_failed=verdict.liveness_failed,
            probe_detail=verdict.detail,
        )
