"""GET /api/v1/endpoints/{name}/autoscale: policy, the autoscaler's target, replicas, decisions.

Setting the policy is `PATCH /api/v1/endpoints/{name}` with `spec.autoscale` (running replicas
are kept); this route only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from modelport.api.deps import CurrentPrincipal, Services
from modelport.api.routes.endpoints import EndpointName
from modelport.domain.decisions import EventReason
from modelport.domain.phases import derive_phase
from modelport.domain.records import Event
from modelport.schemas.autoscale import AutoscaleStatus, ScaleDecision
from modelport.services.auth import Principal
from modelport.services.endpoint_views import replica_counts
from modelport.services.endpoints import MAX_EVENTS_PAGE, EndpointService

router = APIRouter(prefix="/endpoints", tags=["autoscale"])

# The event the controller's autoscaler writes, one per change of the target.
SCALED_REASON = EventReason.SCALED.value
MAX_DECISIONS = 100


@router.get("/{name}/autoscale", response_model=AutoscaleStatus)
def autoscale_status(
    name: EndpointName,
    principal: CurrentPrincipal,
    services: Services,
    decisions: Annotated[
        int, Query(ge=0, le=MAX_DECISIONS, description="how many recent decisions to list")
    ] = 10,
) -> AutoscaleStatus:
    """The endpoint's autoscaling: policy, target, wanted count, replicas and recent decisions."""
    endpoint = services.endpoints.get(principal, name)
    replicas = services.endpoints.replicas(principal, name)
    counts = replica_counts(endpoint, replicas)
    recent = _recent_decisions(services.endpoints, principal, name, decisions)
    return AutoscaleStatus(
        name=endpoint.name,
        policy=endpoint.spec.autoscale,
        target=endpoint.scale_target,
        scaled_at=endpoint.scaled_at,
        wanted=counts.desired,
        phase=derive_phase(endpoint, replicas),
        replicas=counts,
        decisions=[decision(e) for e in recent],
    )


def _recent_decisions(
    service: EndpointService, principal: Principal, name: str, keep: int
) -> Sequence[Event]:
    """The last `keep` scaling events, oldest first. Events are paged oldest first, so the
    history is read through once (pages of MAX_EVENTS_PAGE)."""
    if keep == 0:
        return []
    found: list[Event] = []
    after_id = 0
    while True:
        page = service.events(principal, name, after_id, MAX_EVENTS_PAGE)
        found.extend(e for e in page if e.reason == SCALED_REASON)
        del found[:-keep]
        if len(page) < MAX_EVENTS_PAGE:
            return found
        after_id = page[-1].id


def decision(event: Event) -> ScaleDecision:
    """A scaling event as a decision: reason and counts from the change the controller stored
    with it (never parsed from the message)."""
    change = event.scale
    if change is None:  # a Scaled event without its data: show the message alone
        return ScaleDecision(event_id=event.id, at=event.created_at, detail=event.message)
    return ScaleDecision(
        event_id=event.id,
        at=event.created_at,
        reason=change.reason,
        from_replicas=change.from_replicas,
        to_replicas=change.to_replicas,
        detail=change.detail,
    )
