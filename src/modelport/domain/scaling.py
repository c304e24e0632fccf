"""What an autoscaler decision was, as data: the reason and the move, kept with its event.

The autoscaler's event message stays human ("panic: concurrency 3/replica >= 2x target 1 over
the last 2 s: 1 -> 3"); readers (the autoscale status API, the CLI) take reason and counts from
the event's `ScaleChange` instead of parsing that line.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ScaleReason(StrEnum):
    """Why the desired count is what it is (one event per change carries it)."""

    DISABLED = "disabled"  # autoscaling is off; replicas are set by hand
    BOUNDS = "bounds"  # the current count is outside [min, max]
    WAKE = "wake"  # demand while at zero
    WAKING = "waking"  # no replica READY yet: hold until one serves
    PANIC = "panic"  # a spike in the short window
    SCALE_UP = "scale_up"  # the averaged reading is above the target
    AT_MAX = "at_max"  # more are needed but max_replicas is reached
    UNPLACEABLE = "unplaceable"  # more are needed but some asked for cannot be placed
    SCALE_DOWN = "scale_down"  # the look-back's peak needs fewer
    COOLDOWN = "cooldown"  # fewer would do, but the endpoint started too recently
    STABILIZING = "stabilizing"  # fewer would do, but the last change is too recent
    IDLE = "idle"  # no traffic for the idle timeout (min_replicas 0): zero replicas
    STEADY = "steady"  # within the tolerance band, or nothing to act on


class ScaleChange(BaseModel):
    """One change of an endpoint's autoscaled replica count."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reason: ScaleReason
    from_replicas: int = Field(ge=0)
    to_replicas: int = Field(ge=0)
    detail: str  # the inputs, e.g. "concurrency 7.5/replica > target 4 over 10 s"

    @property
    def message(self) -> str:
        """The event's line: "scale_up: concurrency 7.5/replica > target 4 over 10 s: 2 -> 4"."""
        return f"{self.reason.value}: {self.detail}: {self.from_replicas} -> {self.to_replicas}"
