"""GET /api/v1/endpoints/{name}/autoscale: an endpoint's autoscaling as one answer.

Setting the policy is the PATCH of `spec.autoscale` (a change that keeps running replicas);
this answer says what the policy is, what the autoscaler decided and what runs.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from modelport.domain.scaling import ScaleReason
from modelport.domain.specs import AutoscalePolicy
from modelport.domain.states import EndpointPhase
from modelport.schemas.native import ReplicaCounts


class ScaleDecision(BaseModel):
    """One change the autoscaler made, read from the endpoint's event history."""

    event_id: int
    at: datetime
    # Why ("panic", "scale_up", "idle", "wake", ...); None only for an event without its data.
    reason: ScaleReason | None = None
    # The count moved from and to.
    from_replicas: int | None = None
    to_replicas: int | None = None
    detail: (
        str  # the decision's inputs, e.g. "concurrency 7.5/replica > target 4 over 10 s: 2 -> 4"
    )


class AutoscaleStatus(BaseModel):
    name: str
    policy: AutoscalePolicy  # spec.autoscale as stored; change it with PATCH spec.autoscale
    # The autoscaler's count (None before its first decision) and when it last moved it.
    target: int | None = None
    scaled_at: datetime | None = None
    # What the controller runs toward: spec.replicas with autoscaling off, else the target
    # within [min_replicas, max_replicas]; 0 while the endpoint is stopped.
    wanted: int
    phase: EndpointPhase
    replicas: ReplicaCounts
    decisions: list[ScaleDecision] = Field(default_factory=list)  # newest last
