"""/api/v1/projects and /api/v1/whoami."""

from __future__ import annotations

from fastapi import APIRouter, status

from modelport.api.deps import CurrentPrincipal, Services
from modelport.api.schemas import ProjectCreated, ProjectList, WhoAmI
from modelport.schemas.native import ProjectCreate, ProjectPublic

router = APIRouter(tags=["projects"])


@router.get("/projects", response_model=ProjectList)
def list_projects(principal: CurrentPrincipal, services: Services) -> ProjectList:
    """The projects the caller can see: its own."""
    projects = services.projects.list(principal)
    return ProjectList(
        items=[ProjectPublic.model_validate(p, from_attributes=True) for p in projects]
    )


@router.post("/projects", response_model=ProjectCreated, status_code=status.HTTP_201_CREATED)
def create_project(
    body: ProjectCreate, principal: CurrentPrincipal, services: Services
) -> ProjectCreated:
    """Admin only. Answers with the new project's first admin token, shown this once."""
    project, admin_token = services.projects.create(principal, body.name)
    public = ProjectPublic.model_validate(project, from_attributes=True)
    return ProjectCreated(**dict(public), admin_token=admin_token)


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: CurrentPrincipal, services: Services) -> WhoAmI:
    project = services.projects.current(principal)
    return WhoAmI(
        token_id=principal.token_id,
        project_id=project.id,
        project=project.name,
        role=principal.role,
        endpoint_id=principal.endpoint_id,
    )
