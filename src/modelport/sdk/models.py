"""Response models of routes whose schema is not in modelport.schemas.native (yet).

They mirror the API's own models field for field; the SDK may not import modelport.api.
"""

from __future__ import annotations

from pydantic import BaseModel

from modelport.domain.records import Role
from modelport.schemas.native import ProjectPublic


class WhoAmI(BaseModel):
    token_id: int
    project_id: int
    project: str  # the project's name
    role: Role
    endpoint_id: int | None = None  # set: an inference key for this endpoint only
    server_admin: bool = False  # the server's operator: projects, limits, host access
    host_access: bool = False  # the project may put host-reaching content in specs


class ProjectList(BaseModel):
    items: list[ProjectPublic]


class ProjectCreated(ProjectPublic):
    """A new project's first admin token, shown once."""

    admin_token: str


class Health(BaseModel):
    status: str
