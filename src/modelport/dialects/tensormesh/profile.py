"""GET /auth/profile (`tm auth whoami`): the caller's project as Tensormesh's user account.

A Modelport project stands for a Tensormesh account, so the user's id is a UUID derived from
the project: the same for every token of the project, stable across restarts, never the same
for two projects of one server. It is the `userId` clients deploy with and the `X-User-Id`
Tensormesh's on-demand inference client sends (which Modelport ignores).
"""

from __future__ import annotations

import uuid

from modelport.api.container import ApiServices
from modelport.dialects.tensormesh.schemas import User, UserRole
from modelport.domain.records import Project, Role
from modelport.services.auth import Principal

# Namespace of the project UUIDs (uuid5), fixed so they never change.
_PROJECT_NAMESPACE = uuid.UUID("9a4c1f0e-6d2b-5e8a-b3f1-7c0d2e4a6b8c")
_ROLES = {Role.ADMIN: UserRole.ADMIN, Role.MEMBER: UserRole.USER, Role.VIEWER: UserRole.USER}


def project_user_id(project: Project) -> str:
    return str(uuid.uuid5(_PROJECT_NAMESPACE, f"{project.id}:{project.created_at.isoformat()}"))


def profile(services: ApiServices, principal: Principal) -> User:
    project = services.projects.current(principal)
    inference_key = principal.endpoint_id is not None  # a model's apiKey manages nothing
    role = UserRole.USER if inference_key else _ROLES[principal.role]
    return User(
        id=project_user_id(project),
        first_name="",
        last_name="",
        display_name=project.name,
        user_email="",
        auth_provider="modelport",
        auth_provider_id=f"token-{principal.token_id}",
        avatar_url="",
        user_role=UserRole.SUPER_ADMIN if principal.server_admin else role,
        company="",
        modelport_role="inference key" if inference_key else principal.role.value,
    )
