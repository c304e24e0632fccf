"""/api/v1/endpoints/{name}/invocations: async invocations' status, listing and cancel.

Submitting is a gateway call (`POST /endpoints/{name}/async/{path}`, docs/async.md); these
routes read and cancel. Any token that may call the endpoint may use them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from modelport.api.deps import CurrentPrincipal, Services
from modelport.api.routes.endpoints import EndpointName
from modelport.domain.errors import TemporaryError
from modelport.domain.invocations import InvocationStatus
from modelport.schemas.invocations import (
    INVOCATION_ID_PATTERN,
    InvocationList,
    InvocationPublic,
)
from modelport.services.invocations import MAX_PAGE, InvocationService

router = APIRouter(prefix="/endpoints/{name}/invocations", tags=["invocations"])

InvocationId = Annotated[
    str, Path(pattern=INVOCATION_ID_PATTERN, description="the invocation's id")
]


def _service(services: Services) -> InvocationService:
    if services.invocations is None:
        raise TemporaryError("async invocations are not served by this process")
    return services.invocations


@router.get("", response_model=InvocationList)
def list_invocations(
    name: EndpointName,
    principal: CurrentPrincipal,
    services: Services,
    status: Annotated[
        list[InvocationStatus] | None, Query(description="only these statuses (repeatable)")
    ] = None,
    since: Annotated[datetime | None, Query(description="created at or after (ISO 8601)")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> InvocationList:
    """Newest first."""
    service = _service(services)
    endpoint = service.endpoint(principal, name)
    page = service.list(
        principal, endpoint, statuses=status or (), since=since, limit=limit, offset=offset
    )
    return InvocationList(
        items=[InvocationPublic.of(endpoint.name, i) for i in page.items], total=page.total
    )


@router.get("/{invocation_id}", response_model=InvocationPublic)
def get_invocation(
    name: EndpointName, invocation_id: InvocationId, principal: CurrentPrincipal, services: Services
) -> InvocationPublic:
    """Status, timings, error, and once written the replica's answer (`result`)."""
    service = _service(services)
    endpoint = service.endpoint(principal, name)
    invocation = service.get(principal, endpoint, invocation_id)
    return InvocationPublic.of(endpoint.name, invocation, service.result(endpoint, invocation))


@router.post("/{invocation_id}/cancel", response_model=InvocationPublic)
def cancel_invocation(
    name: EndpointName, invocation_id: InvocationId, principal: CurrentPrincipal, services: Services
) -> InvocationPublic:
    """Only a queued invocation can be canceled (409 naming its status otherwise)."""
    service = _service(services)
    endpoint = service.endpoint(principal, name)
    return InvocationPublic.of(endpoint.name, service.cancel(principal, endpoint, invocation_id))
