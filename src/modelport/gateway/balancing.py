"""Which READY replica serves a request, plus per-replica in-flight counts and passive ejection.

Policies register themselves by name (the shape of SkyPilot Serve's load-balancing policies);
least-outstanding-requests is the default because inference requests vary a lot in duration, so
counting what is still running beats counting what was sent.

Everything here runs on the event loop thread: no locks. `inflight()` is a plain dict read, safe
for the controller to call to learn when a draining replica is idle. With several gateway
processes (`shared`, gateway/shared_counts.py) each also writes its counts to its shared slot;
`pick` weighs the sum over processes and `inflight()` reads every process's count.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from typing import ClassVar

from modelport.clock import Clock, SystemClock
from modelport.gateway.routes import ReplicaTarget
from modelport.gateway.shared_counts import PeerView, SharedCounts, SlotCounts

PEER_MAX_AGE = 0.005  # seconds the other processes' in-flight counts are reused for a pick

POLICIES: dict[str, type[BalancingPolicy]] = {}
DEFAULT_POLICY = "least_outstanding"
EJECT_SECONDS = 3.0  # long enough for the controller to notice a dead replica


class BalancingPolicy(ABC):
    name: ClassVar[str]

    def __init_subclass__(cls, *, name: str, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.name = name
        POLICIES[name] = cls

    @abstractmethod
    def choose(
        self, candidates: Sequence[ReplicaTarget], inflight: Mapping[int, int]
    ) -> ReplicaTarget:
        """Pick one of `candidates` (never empty)."""


class RoundRobin(BalancingPolicy, name="round_robin"):
    def __init__(self) -> None:
        self._next = 0

    def choose(
        self, candidates: Sequence[ReplicaTarget], inflight: Mapping[int, int]
    ) -> ReplicaTarget:
        self._next += 1
        return candidates[self._next % len(candidates)]


class LeastOutstanding(BalancingPolicy, name="least_outstanding"):
    """Fewest in-flight requests; the scan starts at a rotating offset so ties spread evenly."""

    def __init__(self) -> None:
        self._offset = 0

    def choose(
        self, candidates: Sequence[ReplicaTarget], inflight: Mapping[int, int]
    ) -> ReplicaTarget:
        count = len(candidates)
        if count == 1:
            return candidates[0]
        self._offset = start = (self._offset + 1) % count
        best = candidates[start]
        best_load = inflight.get(best.replica_id, 0)
        for step in range(1, count):
            candidate = candidates[(start + step) % count]
            load = inflight.get(candidate.replica_id, 0)
            if load < best_load:
                best, best_load = candidate, load
        return best


def make_policy(name: str | None = None) -> BalancingPolicy:
    policy = POLICIES.get(name or DEFAULT_POLICY)
    if policy is None:
        raise ValueError(f"unknown load-balancing policy {name!r}; known: {sorted(POLICIES)}")
    return policy()


class Balancer:
    def __init__(
        self,
        policy: str | BalancingPolicy | None = None,
        *,
        clock: Clock | None = None,
        eject_seconds: float = EJECT_SECONDS,
        shared: tuple[SharedCounts, int] | None = None,
    ) -> None:
        self._policy = policy if isinstance(policy, BalancingPolicy) else make_policy(policy)
        self._clock = clock or SystemClock()
        self._eject_seconds = eject_seconds
        self._inflight: dict[int, int] = {}
        self._ejected: dict[int, float] = {}  # replica id -> monotonic time it may be used again
        # Several gateway processes: (segment, this process's slot), else None.
        self._counts: SharedCounts | None = None
        self._slot: SlotCounts | None = None
        self._view: PeerView | None = None
        if shared is not None:
            counts, slot = shared
            self._counts, self._slot = counts, counts.claim(slot, os.getpid())
            self._view = PeerView(self._inflight, counts, slot, self._clock.monotonic, PEER_MAX_AGE)

    def inflight(self, replica_id: int) -> int:
        """Requests currently being proxied to this replica, by every gateway process."""
        if self._counts is not None:
            return self._counts.replica_inflight().get(replica_id, 0)
        return self._inflight.get(replica_id, 0)

    def replicas_in_flight(self) -> dict[int, int]:
        """Every replica with requests in flight, by every gateway process (published for the
        other servers' controllers: server loads)."""
        if self._counts is not None:
            return {r: n for r, n in self._counts.replica_inflight().items() if n > 0}
        return dict(self._inflight)

    def pick(
        self, replicas: Sequence[ReplicaTarget], exclude: Collection[int] = ()
    ) -> ReplicaTarget | None:
        """A replica for the next attempt, skipping `exclude` (already tried) and ejected ones.

        When every remaining replica is ejected they are used anyway: the table says they are
        READY, and a refused connection costs far less than turning the client away.
        """
        candidates: Sequence[ReplicaTarget] = replicas
        if exclude:
            candidates = [r for r in candidates if r.replica_id not in exclude]
        if self._ejected and candidates:
            healthy = [r for r in candidates if not self.is_ejected(r.replica_id)]
            candidates = healthy or candidates
        if not candidates:
            return None
        view = self._view
        if view is None or len(candidates) == 1:
            return self._policy.choose(candidates, self._inflight)
        view.refresh()
        return self._policy.choose(candidates, view)

    def acquire(self, replica_id: int) -> None:
        self._inflight[replica_id] = self._inflight.get(replica_id, 0) + 1
        if self._slot is not None:
            self._slot.replica_started(replica_id)

    def release(self, replica_id: int) -> None:
        left = self._inflight.get(replica_id, 0) - 1
        if left > 0:
            self._inflight[replica_id] = left
        else:
            self._inflight.pop(replica_id, None)  # keeps the dict as small as the live set
        if self._slot is not None:
            self._slot.replica_finished(replica_id)

    @property
    def slot(self) -> SlotCounts | None:
        """This process's shared slot (several gateway processes), for the load reporter."""
        return self._slot

    def eject(self, replica_id: int) -> None:
        """Skip this replica for a few seconds (its connection was refused)."""
        self._ejected[replica_id] = self._clock.monotonic() + self._eject_seconds

    def is_ejected(self, replica_id: int) -> bool:
        until = self._ejected.get(replica_id)
        if until is None:
            return False
        if until <= self._clock.monotonic():
            del self._ejected[replica_id]
            return False
        return True
