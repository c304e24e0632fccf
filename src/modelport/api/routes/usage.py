"""GET /api/v1/usage (requests, tokens, replica-seconds and cost) and
GET /api/v1/endpoints/{name}/series (the graphs); services/usage.py reads the metering rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Query, Request

from modelport.api.deps import CurrentPrincipal, Services
from modelport.api.routes.endpoints import EndpointName
from modelport.domain.errors import NotFound
from modelport.schemas.usage import GroupBy, Series, UsageReport
from modelport.services.usage import MAX_WINDOW, UsageService

router = APIRouter(tags=["usage"])


def get_usage(request: Request) -> UsageService:
    """The server sets app.state.usage (server/components.py); an app without it has no usage."""
    usage = getattr(request.app.state, "usage", None)
    if usage is None:
        raise NotFound("usage metering is not enabled on this server")
    return cast(UsageService, usage)


Usage = Annotated[UsageService, Depends(get_usage)]


@router.get("/usage", response_model=UsageReport)
def usage_report(
    principal: CurrentPrincipal,
    usage: Usage,
    from_: Annotated[
        datetime | None, Query(alias="from", description="ISO 8601; default: 24 h before to")
    ] = None,
    to: Annotated[datetime | None, Query(description="ISO 8601; default: now")] = None,
    group_by: Annotated[GroupBy, Query(description="endpoint or day (UTC)")] = GroupBy.ENDPOINT,
    endpoint: Annotated[str | None, Query(description="only this endpoint")] = None,
    project: Annotated[str | None, Query(description="server admin: another project")] = None,
) -> UsageReport:
    """Requests, errors, tokens, replica-seconds by plan and cost, by endpoint or day, in whole
    hours (from rounded down, to up). Times without a zone are UTC."""
    return usage.usage(principal, _utc(from_), _utc(to), group_by, endpoint, project)


@router.get("/endpoints/{name}/series", response_model=Series)
def endpoint_series(
    name: EndpointName,
    principal: CurrentPrincipal,
    services: Services,
    usage: Usage,
    window: Annotated[int, Query(ge=1, le=MAX_WINDOW, description="seconds back from now")] = 900,
    step: Annotated[int, Query(ge=10, description="seconds per point, a multiple of 10")] = 10,
) -> Series:
    """Requests/s, errors/s, p50/p95 latency, in flight and replicas, one point per step."""
    endpoint = services.endpoints.get(principal, name)
    return usage.series(endpoint.id, window, step)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
