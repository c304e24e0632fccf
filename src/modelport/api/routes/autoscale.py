"""GET /api/v1/endpoints/{name}/autoscale: policy, the autoscaler's target, replicas, decisions.

Setting the policy is `PATCH /api/v1/endpoints/{name}` with `spec.autoscale` (running replicas
are kept); this route only reads.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query

from modelport.api.deps import CurrentPrincipal, Services
from modelport.api.routes.endpoints import EndpointName
from modelport.autoscaler.policy import ScaleReason
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
_REASONS = frozenset(r.value for r in ScaleReason)
# "concurrency 7.5/replica > target 4 over 10 s: 2 -> 4": the inputs, then from -> to.
_MOVE = re.compile(r"^(?P<detail>.*?)[:;,]?\s*(?P<src>\d+)\s*->\s*(?P<dst>\d+)\s*$", re.DOTALL)


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
    """A scaling event as a decision. The controller writes "reason: inputs: N -> M"; the
    reason is kept when it is a ScaleReason, from/to when the "N -> M" ending is there."""
    reason, sep, rest = event.message.partition(": ")
    known = sep and reason in _REASONS
    detail = rest if known else event.message
    move = _MOVE.match(detail)
    return ScaleDecision(
        event_id=event.id,
        at=event.created_at,
        reason=reason if known else None,
        from_replicas=None if move is None else int(move["src"]),
        to_replicas=None if move is None else int(move["dst"]),
        detail=detail if move is None else move["detail"].strip(),
    )
