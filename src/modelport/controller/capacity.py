"""GPU accounting for placement: what this runtime has, minus what live replicas already hold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from modelport.domain.gpus import gpu_type_matches
from modelport.domain.specs import Resources


@dataclass(frozen=True)
class GpuPool:
    """GPU type -> count, in total and still free. Immutable: `take` returns a new pool."""

    total: Mapping[str, int] = field(default_factory=dict)
    free: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, inventory: Mapping[str, int], held: Iterable[Resources] = ()) -> GpuPool:
        pool = cls(total=dict(inventory), free=dict(inventory))
        for resources in held:
            pool = pool.take(resources)
        return pool

    def shortfall(self, needs: Resources) -> str | None:
        """None if `needs` fits now, else a sentence saying what is needed and what the host
        has, e.g. "needs 1x H100-80GB; this host has none (it has 2x A100)"."""
        if needs.gpu_count == 0 or self._type_for(needs) is not None:
            return None
        kind = needs.gpu_type or "GPU"
        want = f"needs {needs.gpu_count}x {kind}"
        total = self._count(self.total, needs.gpu_type)
        if total == 0:
            others = ", ".join(f"{n}x {k}" for k, n in sorted(self.total.items()) if n > 0)
            return f"{want}; this host has none" + (f" (it has {others})" if others else "")
        if total < needs.gpu_count:
            return f"{want}; this host has only {total}"
        return f"{want}; {self._count(self.free, needs.gpu_type)} of {total} free"

    def take(self, needs: Resources) -> GpuPool:
        """The pool after placing `needs` (what fits; a replica adopted beyond capacity is ok)."""
        kind = self._type_for(needs)
        if needs.gpu_count == 0 or kind is None:
            return self
        free = dict(self.free)
        free[kind] -= needs.gpu_count
        return GpuPool(total=self.total, free=free)

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
