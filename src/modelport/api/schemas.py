"""API-only response models not (yet) in schemas/native.py. Extra fields only, never renamed."""

from __future__ import annotations

from pydantic import BaseModel

from modelport.domain.records import Role
from modelport.schemas.native import ProjectPublic


class ProjectList(BaseModel):
    items: list[ProjectPublic]


class ProjectCreated(ProjectPublic):
    """A new project's first admin token, shown once: tokens only act in their own project."""

    admin_token: str


class WhoAmI(BaseModel):
    token_id: int
    project_id: int
    project: str  # the project's name
    role: Role
    endpoint_id: int | None  # set: an inference key for this endpoint only
    server_admin: bool = False  # the server's operator: projects, limits, host access
    host_access: bool = False  # the project may put host-reaching content in specs


class Health(BaseModel):
    status: str
