"""Integrations: a project's named credentials. The secret part is stored sealed (SecretBox)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Integer,
    Row,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from modelport.domain.errors import Conflict, NotFound
from modelport.domain.integrations import Integration, IntegrationFields, IntegrationKind
from modelport.store.base import Admission
from modelport.store.endpoints import _admit
from modelport.store.repository import Repository, require_row
from modelport.store.tables import UtcDateTime, metadata, projects

# Declared beside its repository (migration 0011 creates it); on the shared metadata, so the
# schema check compares it like every other table.
integrations = Table(
    "integrations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(63), nullable=False),
    Column("kind", String(16), nullable=False),  # IntegrationKind value
    Column("fields", Text, nullable=False),  # IntegrationFields JSON (not secret)
    Column("sealed_secret", Text, nullable=False),  # SecretFields JSON, sealed
    Column("version", Integer, nullable=False),  # +1 on every change of the credential
    Column("rotated_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
    sqlite_autoincrement=True,
)


def integration_from_row(row: Row[tuple[object, ...]]) -> Integration:
    m = row._mapping
    return Integration(
        id=m["id"],
        project_id=m["project_id"],
        name=m["name"],
        kind=IntegrationKind(m["kind"]),
        fields=IntegrationFields.model_validate_json(m["fields"]),
        sealed_secret=m["sealed_secret"],
        version=m["version"],
        rotated_at=m["rotated_at"],
        created_at=m["created_at"],
    )


class IntegrationRepository(Repository):
    def create_integration(
        self,
        project_id: int,
        name: str,
        kind: IntegrationKind,
        fields: IntegrationFields,
        sealed_secret: str,
    ) -> Integration:
        now = self._clock.now()
        try:
            with self._engine.begin() as conn:
                require_row(conn, projects, project_id, "project", "project_id")
                row = conn.execute(
                    insert(integrations)
                    .values(
                        project_id=project_id,
                        name=name,
                        kind=kind.value,
                        fields=fields.model_dump_json(),
                        sealed_secret=sealed_secret,
                        version=1,
                        rotated_at=now,
                        created_at=now,
                    )
                    .returning(*integrations.c)
                ).one()
        except IntegrityError as exc:
            raise Conflict(f"integration '{name}' already exists", field="name") from exc
        return integration_from_row(row)

    def get_integration(self, project_id: int, integration_id: int) -> Integration:
        return self._one_integration(
            integrations.c.id == integration_id,
            project_id,
            f"integration {integration_id} not found",
        )

    def get_integration_by_name(self, project_id: int, name: str) -> Integration:
        return self._one_integration(
            integrations.c.name == name, project_id, f"integration '{name}' not found"
        )

    def list_integrations(self, project_id: int) -> Sequence[Integration]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(integrations)
                .where(integrations.c.project_id == project_id)
                .order_by(integrations.c.id)
            ).all()
        return [integration_from_row(row) for row in rows]

    def update_integration(
        self,
        project_id: int,
        integration_id: int,
        *,
        fields: IntegrationFields | None = None,
        sealed_secret: str | None = None,
    ) -> Integration:
        """Set what is given; the version grows by one in the same statement (concurrent
        changes each count), a new secret also sets rotated_at. NotFound if absent."""
        values: dict[str, object] = {"version": integrations.c.version + 1}
        if fields is not None:
            values["fields"] = fields.model_dump_json()
        if sealed_secret is not None:
            values["sealed_secret"] = sealed_secret
            values["rotated_at"] = self._clock.now()
        with self._engine.begin() as conn:
            row = conn.execute(
                update(integrations)
                .where(
                    integrations.c.id == integration_id,
                    integrations.c.project_id == project_id,
                )
                .values(values)
                .returning(*integrations.c)
            ).first()
        if row is None:
            raise NotFound(f"integration {integration_id} not found")
        return integration_from_row(row)

    def delete_integration(
        self, project_id: int, integration_id: int, *, admit: Admission | None = None
    ) -> None:
        """NotFound if absent. `admit` judges the project's endpoints first (under the project
        lock endpoint changes take), so no endpoint starts naming it meanwhile."""
        with self._engine.begin() as conn:
            if admit is not None:
                _admit(conn, project_id, admit)
            gone = conn.execute(
                delete(integrations)
                .where(
                    integrations.c.id == integration_id,
                    integrations.c.project_id == project_id,
                )
                .returning(integrations.c.id)
            ).first()
        if gone is None:
            raise NotFound(f"integration {integration_id} not found")

    def _one_integration(
        self, match: ColumnElement[bool], project_id: int, missing: str
    ) -> Integration:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(integrations).where(match, integrations.c.project_id == project_id)
            ).first()
        if row is None:
            raise NotFound(missing)
        return integration_from_row(row)
