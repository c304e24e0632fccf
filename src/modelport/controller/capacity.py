"""GPU accounting for placement: what this runtime has, minus what live replicas already hold."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
        if needs.gpu_type:
            candidates = [needs.gpu_type]
        else:
            candidates = sorted(self.free, key=lambda kind: self.free[kind])
        fitting = [k for k in candidates if self.free.get(k, 0) >= needs.gpu_count]
        return fitting[-1] if fitting else None

    @staticmethod
    def _count(counts: Mapping[str, int], kind: str | None) -> int:
        return counts.get(kind, 0) if kind else max(counts.values(), default=0)
