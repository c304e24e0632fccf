"""Projects: the unit of isolation. A token sees only its own project."""

from __future__ import annotations

from collections.abc import Sequence

from modelport.domain.errors import InvalidSpec
from modelport.domain.ids import validate_name
from modelport.domain.records import Project, Role
from modelport.services.auth import Principal
from modelport.services.tokens import mint_token
from modelport.store.base import Store


class ProjectService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def current(self, principal: Principal) -> Project:
        """The caller's project (any role)."""
        return self._store.get_project(principal.project_id)

    def list(self, principal: Principal) -> Sequence[Project]:
        """The projects the caller can see: its own."""
        return [self.current(principal)]

    def create(self, principal: Principal, name: str) -> tuple[Project, str]:
        """Admin only. The new project and its first admin token (plaintext, shown once):
        tokens act inside their own project, so without it nobody could use the project."""
        principal.require_admin()
        try:
            validate_name(name)
        except ValueError as exc:
            raise InvalidSpec(str(exc), field="name") from exc
        project = self._store.create_project(name)
        _, plaintext = mint_token(self._store, project.id, f"{name}-admin", Role.ADMIN)
        return project, plaintext
