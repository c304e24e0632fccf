"""/api/v1/endpoints: create, read, change and act on endpoints."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from modelport.api.deps import AuthenticatorDep, CurrentPrincipal, Services
from modelport.api.routes.endpoint_lists import ListQuery
from modelport.domain.ids import DNS_LABEL_PATTERN, MAX_ID
from modelport.schemas.native import (
    ActionResult,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointPublic,
    EndpointUpdate,
    EventList,
    EventPublic,
    LogsList,
    LogsPublic,
    ReplicaList,
    ReplicaPublic,
)
from modelport.services.endpoint_views import may_see_addresses, replica_public
from modelport.services.endpoints import MAX_EVENTS_PAGE, MAX_TAIL_BYTES

router = APIRouter(prefix="/endpoints", tags=["endpoints"])

# A name that cannot exist is bad input (422 naming `name`), not a lookup: a NUL byte would
# reach the database, where PostgreSQL refuses it.
EndpointName = Annotated[str, Path(pattern=DNS_LABEL_PATTERN, description="the endpoint's name")]


@router.post(
    "",
    response_model=EndpointCreated,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"model": EndpointCreated, "description": "already exists, same spec"}},
)
def create_endpoint(
    body: EndpointCreate, principal: CurrentPrincipal, services: Services, response: Response
) -> EndpointCreated:
    """Idempotent: the same name and spec answers 200 with the existing endpoint (no new key)."""
    endpoint, api_key = services.endpoints.create(principal, body.name, body.spec)
    if api_key is None:
        response.status_code = status.HTTP_200_OK
    view = services.endpoints.view(endpoint)
    return EndpointCreated(**dict(view), api_key=api_key)


@router.get("", response_model=EndpointList)
def list_endpoints(
    principal: CurrentPrincipal, services: Services, query: Annotated[ListQuery, Depends()]
) -> EndpointList:
    """One page, oldest first; follow `next_cursor` for the next one."""
    page = services.endpoints.page(principal, query.page_query())
    return EndpointList(
        items=[services.endpoints.public(i.endpoint, i.replicas) for i in page.items],
        next_cursor=None if page.next_after is None else str(page.next_after),
    )


@router.get("/{name}", response_model=EndpointPublic)
def get_endpoint(
    name: EndpointName, principal: CurrentPrincipal, services: Services
) -> EndpointPublic:
    return services.endpoints.describe(principal, name)


@router.patch("/{name}", response_model=EndpointPublic)
def patch_endpoint(
    name: EndpointName, body: EndpointUpdate, principal: CurrentPrincipal, services: Services
) -> EndpointPublic:
    """Merge spec fields; a real change bumps `generation` and replicas roll one by one."""
    endpoint = services.endpoints.patch(principal, name, body.spec, body.generation)
    return services.endpoints.view(endpoint)


@router.delete("/{name}", response_model=ActionResult, status_code=status.HTTP_202_ACCEPTED)
def delete_endpoint(
    name: EndpointName,
    principal: CurrentPrincipal,
    services: Services,
    authenticator: AuthenticatorDep,
) -> ActionResult:
    endpoint = services.endpoints.delete(principal, name)
    authenticator.forget()  # its inference keys were revoked: stop honouring cached lookups
    return ActionResult(
        endpoint=services.endpoints.view(endpoint),
        message="deleting: replicas are stopped, then the endpoint is removed",
    )


@router.post("/{name}/stop", response_model=ActionResult)
def stop_endpoint(
    name: EndpointName, principal: CurrentPrincipal, services: Services
) -> ActionResult:
    endpoint = services.endpoints.stop(principal, name)
    return ActionResult(
        endpoint=services.endpoints.view(endpoint),
        message="stopping: replicas drain and stop; the spec and URL are kept",
    )


@router.post("/{name}/start", response_model=ActionResult)
def start_endpoint(
    name: EndpointName, principal: CurrentPrincipal, services: Services
) -> ActionResult:
    endpoint = services.endpoints.start(principal, name)
    return ActionResult(
        endpoint=services.endpoints.view(endpoint), message="starting: replicas come up"
    )


@router.post("/{name}/restart", response_model=ActionResult)
def restart_endpoint(
    name: EndpointName, principal: CurrentPrincipal, services: Services
) -> ActionResult:
    endpoint = services.endpoints.restart(principal, name)
    return ActionResult(
        endpoint=services.endpoints.view(endpoint),
        message=f"restarting: replicas roll one by one onto generation {endpoint.generation}",
    )


@router.get("/{name}/replicas", response_model=ReplicaList)
def list_replicas(
    name: EndpointName, principal: CurrentPrincipal, services: Services
) -> ReplicaList:
    """Replica states; addresses (handle) only for admin and member tokens of the project."""
    replicas = services.endpoints.replicas(principal, name)
    shown = may_see_addresses(principal)
    return ReplicaList(items=[replica_public(r, with_address=shown) for r in replicas])


@router.post("/{name}/replicas/{replica_id}/restart", response_model=ReplicaPublic)
def restart_replica(
    name: EndpointName,
    replica_id: Annotated[int, Path(ge=1, le=MAX_ID, description="the replica's id")],
    principal: CurrentPrincipal,
    services: Services,
) -> ReplicaPublic:
    """Replace one replica by a fresh one; the others keep serving. Answers the replica with
    `restart_requested_at` set: it serves until its replacement is READY, then drains."""
    replica = services.endpoints.restart_replica(principal, name, replica_id)
    return replica_public(replica, with_address=may_see_addresses(principal))


@router.get("/{name}/events", response_model=EventList)
def list_events(
    name: EndpointName,
    principal: CurrentPrincipal,
    services: Services,
    after_id: Annotated[
        int, Query(ge=0, le=MAX_ID, description="only events with a larger id")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENTS_PAGE)] = 200,
) -> EventList:
    events = services.endpoints.events(principal, name, after_id, limit)
    return EventList(items=[EventPublic.model_validate(e, from_attributes=True) for e in events])


@router.get("/{name}/logs", response_model=LogsList)
def replica_logs(
    name: EndpointName,
    principal: CurrentPrincipal,
    services: Services,
    tail_bytes: Annotated[int, Query(ge=1, le=MAX_TAIL_BYTES)] = 65536,
) -> LogsList:
    logs = services.endpoints.logs(principal, name, tail_bytes)
    return LogsList(
        items=[LogsPublic(replica_id=entry.replica_id, text=entry.text) for entry in logs]
    )
