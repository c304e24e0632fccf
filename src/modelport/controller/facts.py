"""What the loop observed this tick, as plain data for the pure planner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from modelport.controller.capacity import GpuPool
from modelport.runtime.base import ProcessStatus
from modelport.settings import Settings


@dataclass(frozen=True)
class ReplicaObservation:
    """Facts about one replica. Defaults mean 'nothing known': the planner then does nothing."""

    process: ProcessStatus | None = None  # None: not asked (no process expected)
    readiness_passed: bool = False  # success_threshold successes in a row (or probe disabled)
    readiness_failed: bool = False  # failure_threshold failures in a row
    liveness_failed: bool = False  # failure_threshold failures in a row (never when disabled)
    probe_detail: str = ""  # the last probe failure, for event messages
    inflight: int = 0  # requests the gateway has in flight to it


@dataclass(frozen=True)
class EndpointObservation:
    replicas: Mapping[int, ReplicaObservation] = field(default_factory=dict)  # by replica id
    gpus: GpuPool = field(default_factory=GpuPool)  # what is free for this endpoint's launches

    def of(self, replica_id: int) -> ReplicaObservation:
        return self.replicas.get(replica_id, _UNKNOWN)


_UNKNOWN = ReplicaObservation()


@dataclass(frozen=True)
class PlannerPolicy:
    """Timings the planner works with; the defaults match Settings' defaults."""

    backoff_initial: float = 1.0  # first restart delay, doubled per restart
    backoff_max: float = 60.0  # cap on the restart delay
    drain_seconds: float = 30.0  # stop a draining replica after this, in-flight or not
    drain_min_seconds: float = 1.0  # drain at least this long: the gateway's route refresh
    startup_timeout_seconds: float = 600.0  # a replica not ready by then is killed

    @classmethod
    def from_settings(cls, settings: Settings) -> PlannerPolicy:
        return cls(
            backoff_initial=settings.backoff_initial,
            backoff_max=settings.backoff_max,
            drain_seconds=settings.drain_seconds,
            drain_min_seconds=max(1.0, 4 * settings.route_refresh_interval),
            startup_timeout_seconds=settings.startup_timeout,
        )

    def backoff(self, restart_count: int) -> float:
        """Capped exponential: initial, 2x initial, 4x initial, ... never above backoff_max."""
        return min(self.backoff_initial * 2.0 ** min(restart_count, 32), self.backoff_max)
