"""Projects and their API tokens."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from modelport.domain.errors import Conflict, NotFound
from modelport.domain.records import Project, ProjectLimits, Role, Token
from modelport.store.repository import Repository, require_row
from modelport.store.rows import project_from_row, token_from_row
from modelport.store.tables import endpoints, projects, tokens


class ProjectRepository(Repository):
    def create_project(self, name: str) -> Project:
        try:
            with self._engine.begin() as conn:
                row = conn.execute(
                    insert(projects)
                    .values(name=name, created_at=self._clock.now())
                    .returning(*projects.c)
                ).one()
        except IntegrityError as exc:
            raise Conflict(f"project '{name}' already exists", field="name") from exc
        return project_from_row(row)

    def get_project(self, project_id: int) -> Project:
        with self._engine.connect() as conn:
            row = conn.execute(select(projects).where(projects.c.id == project_id)).first()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return project_from_row(row)

    def get_project_by_name(self, name: str) -> Project:
        with self._engine.connect() as conn:
            row = conn.execute(select(projects).where(projects.c.name == name)).first()
        if row is None:
            raise NotFound(f"project '{name}' not found", field="name")
        return project_from_row(row)

    def update_project(
        self,
        project_id: int,
        *,
        limits: ProjectLimits | None = None,
        host_access: bool | None = None,
    ) -> Project:
        changes: dict[str, object] = {}
        if limits is not None:
            changes["limits"] = limits.model_dump_json()
        if host_access is not None:
            changes["host_access"] = host_access
        with self._engine.begin() as conn:
            statement = update(projects).where(projects.c.id == project_id)
            if changes:
                row = conn.execute(statement.values(changes).returning(*projects.c)).first()
            else:
                row = conn.execute(select(projects).where(projects.c.id == project_id)).first()
        if row is None:
            raise NotFound(f"project {project_id} not found")
        return project_from_row(row)

    def list_projects(self) -> Sequence[Project]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(projects).order_by(projects.c.id)).all()
        return [project_from_row(row) for row in rows]


class TokenRepository(Repository):
    def create_token(
        self,
        project_id: int,
        name: str,
        role: Role,
        token_hash: str,
        prefix: str,
        endpoint_id: int | None = None,
        *,
        server_admin: bool = False,
    ) -> Token:
        try:
            with self._engine.begin() as conn:
                require_row(conn, projects, project_id, "project", "project_id")
                if endpoint_id is not None:
                    owner = conn.execute(
                        select(endpoints.c.project_id).where(endpoints.c.id == endpoint_id)
                    ).scalar()
                    if owner != project_id:
                        raise NotFound(f"endpoint {endpoint_id} not found", field="endpoint_id")
                row = conn.execute(
                    insert(tokens)
                    .values(
                        project_id=project_id,
                        name=name,
                        role=role.value,
                        token_hash=token_hash,
                        prefix=prefix,
                        endpoint_id=endpoint_id,
                        revoked=False,
                        created_at=self._clock.now(),
                        server_admin=server_admin,
                    )
                    .returning(*tokens.c)
                ).one()
        except IntegrityError as exc:
            raise Conflict("a token with this hash already exists", field="token") from exc
        return token_from_row(row)

    def find_token(self, token_hash: str) -> Token | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(tokens).where(tokens.c.token_hash == token_hash, tokens.c.revoked.is_(False))
            ).first()
        return None if row is None else token_from_row(row)

    def list_tokens(self, project_id: int) -> Sequence[Token]:
        """Revoked tokens included (marked), so a listing shows what was cut off."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(tokens).where(tokens.c.project_id == project_id).order_by(tokens.c.id)
            ).all()
        return [token_from_row(row) for row in rows]

    def make_server_admin(self, token_id: int) -> Token:
        with self._engine.begin() as conn:
            row = conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id)
                .values(server_admin=True)
                .returning(*tokens.c)
            ).first()
        if row is None:
            raise NotFound(f"token {token_id} not found")
        return token_from_row(row)

    def revoke_token(self, project_id: int, token_id: int) -> None:
        """Idempotent for a token of this project; NotFound for any other id."""
        with self._engine.begin() as conn:
            matched = conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id, tokens.c.project_id == project_id)
                .values(revoked=True)
                .returning(tokens.c.id)
            ).first()
        if matched is None:
            raise NotFound(f"token {token_id} not found")
