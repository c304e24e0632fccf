"""/api/v1/integrations: a project's named credentials (docs/integrations.md).

A secret goes in (POST, PUT .../secret) and never comes out: answers say only `secret_set`,
`version` and `rotated_at`. `{ref}` is an integration's name or its numeric id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from modelport.api.container import ApiServices
from modelport.api.deps import CurrentPrincipal, Services
from modelport.domain.errors import TemporaryError
from modelport.domain.ids import DNS_LABEL_PATTERN
from modelport.domain.integrations import Integration
from modelport.schemas.integrations import (
    IntegrationCreate,
    IntegrationList,
    IntegrationPatch,
    IntegrationPublic,
    IntegrationSecret,
)
from modelport.services.integrations import IntegrationService

router = APIRouter(prefix="/integrations", tags=["integrations"])

IntegrationRef = Annotated[
    str, Path(pattern=DNS_LABEL_PATTERN, description="the integration's name or numeric id")
]


def _integrations(services: ApiServices) -> IntegrationService:
    if services.integrations is None:
        raise TemporaryError("integrations are not configured on this server")
    return services.integrations


def public(integration: Integration) -> IntegrationPublic:
    """Never the secret: only that there is one, its version and when it was set."""
    return IntegrationPublic(
        id=integration.id,
        name=integration.name,
        kind=integration.kind,
        **integration.fields.model_dump(),
        version=integration.version,
        rotated_at=integration.rotated_at,
        created_at=integration.created_at,
    )


@router.post("", response_model=IntegrationPublic, status_code=status.HTTP_201_CREATED)
def create_integration(
    body: IntegrationCreate, principal: CurrentPrincipal, services: Services
) -> IntegrationPublic:
    """The secret is sealed at rest and never shown again."""
    return public(_integrations(services).create(principal, body))


@router.get("", response_model=IntegrationList)
def list_integrations(principal: CurrentPrincipal, services: Services) -> IntegrationList:
    return IntegrationList(items=[public(i) for i in _integrations(services).list(principal)])


@router.get("/{ref}", response_model=IntegrationPublic)
def get_integration(
    ref: IntegrationRef, principal: CurrentPrincipal, services: Services
) -> IntegrationPublic:
    return public(_integrations(services).get(principal, ref))


@router.patch("/{ref}", response_model=IntegrationPublic)
def patch_integration(
    ref: IntegrationRef, body: IntegrationPatch, principal: CurrentPrincipal, services: Services
) -> IntegrationPublic:
    """Change non-secret fields (server, username, endpoint_url, region); version + 1."""
    return public(_integrations(services).patch(principal, ref, body))


@router.put("/{ref}/secret", response_model=IntegrationPublic)
def rotate_secret(
    ref: IntegrationRef, body: IntegrationSecret, principal: CurrentPrincipal, services: Services
) -> IntegrationPublic:
    """Replace the secret; replicas launched from now on get the new one."""
    return public(_integrations(services).rotate(principal, ref, body))


@router.delete("/{ref}", status_code=status.HTTP_204_NO_CONTENT)
def delete_integration(
    ref: IntegrationRef, principal: CurrentPrincipal, services: Services
) -> None:
    """409 naming the endpoints while an endpoint's spec names it."""
    _integrations(services).delete(principal, ref)
