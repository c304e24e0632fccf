"""Projects: the unit of isolation. A token sees only its own project.

The server admin (the bootstrap token, docs/security.md) is the exception: it creates
projects, sets their limits, grants or revokes their host access, and mints a project's
tokens (to hand a team its first admin token). Nobody else can do any of that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import ValidationError

from modelport.domain.errors import Forbidden, InvalidSpec, NotFound
from modelport.domain.ids import validate_name
from modelport.domain.records import Project, ProjectLimits, Role, Token
from modelport.services.auth import Principal
from modelport.services.tokens import MAX_TOKEN_NAME, mint_token
from modelport.services.validation import invalid_spec
from modelport.store.base import Store


def require_server_admin(principal: Principal, action: str) -> None:
    if not principal.server_admin or principal.endpoint_id is not None:
        raise Forbidden(
            f"only the server admin can {action} (the token in $MODELPORT_HOME/admin-token "
            "on the server)"
        )


class ProjectService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def current(self, principal: Principal) -> Project:
        """The caller's project (any role)."""
        return self._store.get_project(principal.project_id)

    def list(self, principal: Principal) -> Sequence[Project]:
        """The projects the caller can see: its own; every project for the server admin."""
        if principal.server_admin and principal.endpoint_id is None:
            return self._store.list_projects()
        return [self.current(principal)]

    def get(self, principal: Principal, name: str) -> Project:
        """One project by name: the caller's own, or any for the server admin."""
        project = self._store.get_project_by_name(name)
        if project.id != principal.project_id and not principal.server_admin:
            raise NotFound(f"project '{name}' not found", field="name")
        return project

    def create(self, principal: Principal, name: str) -> tuple[Project, str]:
        """Server admin only. The new project and its first admin token (plaintext, shown
        once): tokens act inside their own project, so without it nobody could use it."""
        require_server_admin(principal, "create projects")
        try:
            validate_name(name)
        except ValueError as exc:
            raise InvalidSpec(str(exc), field="name") from exc
        project = self._store.create_project(name)
        _, plaintext = mint_token(self._store, project.id, f"{name}-admin", Role.ADMIN)
        return project, plaintext

    def update(
        self,
        principal: Principal,
        name: str,
        *,
        limits: Mapping[str, int | None] | None = None,
        host_access: bool | None = None,
    ) -> Project:
        """Server admin only: change some limits (a None value: unlimited; those not named
        stay) and/or set the host grant. Lowering a limit below what runs stops nothing; the
        project just cannot grow until it is back under."""
        require_server_admin(principal, "change a project's limits or host access")
        project = self.get(principal, name)
        merged = None
        if limits is not None:
            try:
                merged = ProjectLimits.model_validate({**project.limits.model_dump(), **limits})
            except ValidationError as exc:
                raise invalid_spec(exc, prefix=("limits",)) from exc
        return self._store.update_project(project.id, limits=merged, host_access=host_access)

    def mint_token(
        self, principal: Principal, project: str, name: str, role: Role
    ) -> tuple[Token, str]:
        """Server admin only: a token of another project (e.g. a team's first admin token)."""
        require_server_admin(principal, "mint tokens for a project")
        if not name.strip() or len(name) > MAX_TOKEN_NAME:
            raise InvalidSpec(f"name: must be 1-{MAX_TOKEN_NAME} characters", field="name")
        target = self.get(principal, project)
        return mint_token(self._store, target.id, name, role)
