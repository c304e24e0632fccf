"""/api/v1/projects and /api/v1/whoami.

Listing and reading a project: any token of it (the server admin sees every project).
Creating projects, changing their limits or host access, and minting a project's tokens from
outside it: the server admin only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from modelport.api.deps import AuthenticatorDep, CurrentPrincipal, Services
from modelport.api.schemas import ProjectCreated, ProjectList, WhoAmI
from modelport.domain.ids import DNS_LABEL_PATTERN
from modelport.domain.records import Project
from modelport.schemas.native import (
    ProjectCreate,
    ProjectPublic,
    ProjectTokenCreate,
    ProjectUpdate,
    TokenCreated,
    TokenPublic,
)

router = APIRouter(tags=["projects"])

# A name that cannot exist is bad input (422 naming `name`): a NUL would reach PostgreSQL.
ProjectName = Annotated[str, Path(pattern=DNS_LABEL_PATTERN, description="the project's name")]


def _public(project: Project) -> ProjectPublic:
    return ProjectPublic.model_validate(project, from_attributes=True)


@router.get("/projects", response_model=ProjectList)
def list_projects(principal: CurrentPrincipal, services: Services) -> ProjectList:
    """The projects the caller can see: its own (every project for the server admin)."""
    return ProjectList(items=[_public(p) for p in services.projects.list(principal)])


@router.post("/projects", response_model=ProjectCreated, status_code=status.HTTP_201_CREATED)
def create_project(
    body: ProjectCreate, principal: CurrentPrincipal, services: Services
) -> ProjectCreated:
    """Server admin only. Answers with the new project's first admin token, shown this once."""
    project, admin_token = services.projects.create(principal, body.name)
    return ProjectCreated(**dict(_public(project)), admin_token=admin_token)


@router.get("/projects/{name}", response_model=ProjectPublic)
def get_project(
    name: ProjectName, principal: CurrentPrincipal, services: Services
) -> ProjectPublic:
    return _public(services.projects.get(principal, name))


@router.patch("/projects/{name}", response_model=ProjectPublic)
def update_project(
    name: ProjectName,
    body: ProjectUpdate,
    principal: CurrentPrincipal,
    services: Services,
    authenticator: AuthenticatorDep,
) -> ProjectPublic:
    """Server admin only: limits named in the body change (null: unlimited), others stay;
    host_access grants or revokes the host permission."""
    limits = None if body.limits is None else body.limits.model_dump(exclude_unset=True)
    project = services.projects.update(principal, name, limits=limits, host_access=body.host_access)
    authenticator.forget()  # tokens carry the grant and limits: apply them now, not in 5 s
    return _public(project)


@router.post(
    "/projects/{name}/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED
)
def create_project_token(
    name: ProjectName, body: ProjectTokenCreate, principal: CurrentPrincipal, services: Services
) -> TokenCreated:
    """Server admin only: a token of project `name` (e.g. to hand a team its first admin
    token again). Shown in this response only."""
    token, plaintext = services.projects.mint_token(principal, name, body.name, body.role)
    public = TokenPublic.model_validate(token, from_attributes=True)
    return TokenCreated(**dict(public), token=plaintext)


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: CurrentPrincipal, services: Services) -> WhoAmI:
    project = services.projects.current(principal)
    return WhoAmI(
        token_id=principal.token_id,
        project_id=project.id,
        project=project.name,
        role=principal.role,
        endpoint_id=principal.endpoint_id,
        server_admin=principal.server_admin,
        host_access=project.host_access,
    )
