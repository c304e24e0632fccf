"""GPU accounting for placement: what each runtime has (this host's GPUs, a Ray cluster's),
minus what its live replicas already hold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from modelport.domain.errors import PermanentError
from modelport.domain.gpus import gpu_type_matches
from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import Resources, RuntimeKind
from modelport.domain.states import LIVE_REPLICA_STATES
from modelport.runtime.base import RuntimeBackend

_HOST = "this host"


@dataclass(frozen=True)
class GpuPool:
    """GPU type -> count, in total and still free. Immutable: `take` returns a new pool."""

    total: Mapping[str, int] = field(default_factory=dict)
    free: Mapping[str, int] = field(default_factory=dict)
    where: str = _HOST  # what has them, in the sentence shortfall() says
    checked: bool = True  # False: not this pool's to judge (the launch says what is wrong)

    @classmethod
    def of(
        cls, inventory: Mapping[str, int], held: Iterable[Resources] = (), where: str = _HOST
    ) -> GpuPool:
        pool = cls(total=dict(inventory), free=dict(inventory), where=where)
        for resources in held:
            pool = pool.take(resources)
        return pool

    def shortfall(self, needs: Resources) -> str | None:
        """None if `needs` fits now, else a sentence saying what is needed and what the host
        (or the cluster) has, e.g. "needs 1x H100-80GB; this host has none (it has 2x A100)"."""
        if not self.checked or needs.gpu_count == 0 or self._type_for(needs) is not None:
            return None
        kind = needs.gpu_type or "GPU"
        want = f"needs {needs.gpu_count}x {kind}"
        total = self._count(self.total, needs.gpu_type)
        if total == 0:
            others = ", ".join(f"{n}x {k}" for k, n in sorted(self.total.items()) if n > 0)
            return f"{want}; {self.where} has none" + (f" (it has {others})" if others else "")
        if total < needs.gpu_count:
            return f"{want}; {self.where} has only {total}"
        return f"{want}; {self._count(self.free, needs.gpu_type)} of {total} free"

    def take(self, needs: Resources) -> GpuPool:
        """The pool after placing `needs` (what fits; a replica adopted beyond capacity is ok)."""
        kind = self._type_for(needs)
        if needs.gpu_count == 0 or kind is None:
            return self
        free = dict(self.free)
        free[kind] -= needs.gpu_count
        return replace(self, free=free)

    def _type_for(self, needs: Resources) -> str | None:
        """The GPU type to place `needs` on: its own type, or for 'any' the one with most free."""
        candidates = sorted(self._kinds(self.free, needs.gpu_type), key=lambda k: self.free[k])
        fitting = [k for k in candidates if self.free.get(k, 0) >= needs.gpu_count]
        return fitting[-1] if fitting else None

    @classmethod
    def _count(cls, counts: Mapping[str, int], kind: str | None) -> int:
        """How many of `kind` fit on one GPU type (one replica never spans two types)."""
        return max((counts[k] for k in cls._kinds(counts, kind)), default=0)

    @staticmethod
    def _kinds(counts: Mapping[str, int], wanted: str | None) -> list[str]:
        """The installed GPU names a request for `wanted` (None: any) may be placed on."""
        return [k for k in counts if wanted is None or gpu_type_matches(wanted, k)]


# Where a runtime's GPUs are, in words; the others' (local processes, containers) are this
# host's, one pool for all of them: counting the host's GPUs once per runtime would double them.
_WHERE = {RuntimeKind.RAY.value: "the cluster"}


@dataclass(frozen=True)
class GpuPools:
    """One GpuPool per place replicas take GPUs from: this host's, or a Ray cluster's
    (runtime/ray.py reads them from its nodes); a replica takes from its runtime's."""

    pools: Mapping[str, GpuPool]  # by where: "this host", "the cluster"
    runtime: RuntimeBackend

    @classmethod
    def of(
        cls,
        runtime: RuntimeBackend,
        endpoints: Sequence[Endpoint],
        by_endpoint: Mapping[int, Sequence[Replica]],
    ) -> GpuPools:
        """What is free: each place's GPUs minus those held by its replicas whose process may
        run."""
        held: dict[str, list[Resources]] = {}
        inventories: dict[str, Mapping[str, int]] = {}
        for endpoint in endpoints:
            backend = _backend(runtime, endpoint)
            if backend is None:
                continue
            where = _WHERE.get(backend.name, _HOST)
            if where not in inventories:
                inventories[where] = backend.gpu_inventory()
            live = [r for r in by_endpoint.get(endpoint.id, ()) if r.state in LIVE_REPLICA_STATES]
            held.setdefault(where, []).extend(endpoint.spec.resources for _ in live)
        pools = {w: GpuPool.of(gpus, held.get(w, ()), w) for w, gpus in inventories.items()}
        return cls(pools, runtime)

    def of_endpoint(self, endpoint: Endpoint) -> GpuPool:
        where = _where(self.runtime, endpoint)
        if where is None:  # a runtime this server does not run: the launch fails saying so
            return GpuPool(checked=False)
        return self.pools.get(where, GpuPool(where=where))

    def after(self, endpoint: Endpoint, pool: GpuPool) -> GpuPools:
        """These pools with `endpoint`'s replaced by `pool` (what is left after its launches)."""
        where = _where(self.runtime, endpoint)
        if where is None:
            return self
        return GpuPools({**self.pools, where: pool}, self.runtime)


def _where(runtime: RuntimeBackend, endpoint: Endpoint) -> str | None:
    backend = _backend(runtime, endpoint)
    return None if backend is None else _WHERE.get(backend.name, _HOST)


def _backend(runtime: RuntimeBackend, endpoint: Endpoint) -> RuntimeBackend | None:
    try:
        return runtime.select(endpoint.spec.runtime)
    except PermanentError:
        return None
