"""Endpoints: the desired state, changed only by compare-and-set on generation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from modelport.domain.errors import Conflict, NotFound
from modelport.domain.records import Endpoint, LeaseFence
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState
from modelport.store.base import Admission
from modelport.store.changes import record_deletion
from modelport.store.leases import hold_fence
from modelport.store.repository import Repository, checked_spec_json, require_row
from modelport.store.rows import endpoint_from_row, project_from_row
from modelport.store.tables import endpoints, projects


class EndpointRepository(Repository):
    def create_endpoint(
        self,
        project_id: int,
        name: str,
        spec: EndpointSpec,
        secret_spec_json: str,
        *,
        admit: Admission | None = None,
    ) -> Endpoint:
        """Stores `secret_spec_json` (the caller's `spec`, sealed); returns what was stored."""
        now = self._clock.now()
        try:
            with self._engine.begin() as conn:
                if admit is not None:
                    _admit(conn, project_id, admit)
                require_row(conn, projects, project_id, "project", "project_id")
                row = conn.execute(
                    insert(endpoints)
                    .values(
                        project_id=project_id,
                        name=name,
                        **checked_spec_json(secret_spec_json),
                        generation=1,
                        template_generation=1,
                        desired_state=DesiredState.RUNNING.value,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(*endpoints.c)
                ).one()
        except IntegrityError as exc:
            raise Conflict(f"endpoint '{name}' already exists", field="name") from exc
        return endpoint_from_row(row)

    def get_endpoint(self, project_id: int, endpoint_id: int) -> Endpoint:
        return self._one_endpoint(
            f"endpoint {endpoint_id} not found",
            endpoints.c.project_id == project_id,
            endpoints.c.id == endpoint_id,
        )

    def get_endpoint_by_name(self, project_id: int, name: str) -> Endpoint:
        return self._one_endpoint(
            f"endpoint '{name}' not found",
            endpoints.c.project_id == project_id,
            endpoints.c.name == name,
        )

    def get_endpoint_any_project(self, endpoint_id: int) -> Endpoint:
        return self._one_endpoint(
            f"endpoint {endpoint_id} not found", endpoints.c.id == endpoint_id
        )

    def list_endpoints(self, project_id: int | None = None) -> Sequence[Endpoint]:
        query = select(endpoints).order_by(endpoints.c.id)
        if project_id is not None:
            query = query.where(endpoints.c.project_id == project_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return [endpoint_from_row(row) for row in rows]

    def update_endpoint(
        self,
        endpoint_id: int,
        *,
        expected_generation: int | None,
        secret_spec_json: str | None = None,
        desired_state: DesiredState | None = None,
        bump_generation: bool = False,
        roll_replicas: bool = True,
        admit: Admission | None = None,
    ) -> Endpoint:
        changes: dict[str, Any] = {"updated_at": self._clock.now()}
        if secret_spec_json is not None:
            changes.update(checked_spec_json(secret_spec_json))
        if desired_state is not None:
            changes["desired_state"] = desired_state.value
        if bump_generation:
            changes["generation"] = endpoints.c.generation + 1
            if roll_replicas:
                changes["template_generation"] = endpoints.c.generation + 1
        statement = update(endpoints).where(endpoints.c.id == endpoint_id)
        if expected_generation is not None:
            # One statement is the compare-and-set: a concurrent writer makes it match nothing.
            statement = statement.where(endpoints.c.generation == expected_generation)
        with self._engine.begin() as conn:
            if admit is not None:
                owner = conn.execute(
                    select(endpoints.c.project_id).where(endpoints.c.id == endpoint_id)
                ).scalar()
                if owner is None:
                    raise NotFound(f"endpoint {endpoint_id} not found")
                _admit(conn, owner, admit)
            row = conn.execute(statement.values(changes).returning(*endpoints.c)).first()
            if row is None:
                current = conn.execute(
                    select(endpoints.c.generation).where(endpoints.c.id == endpoint_id)
                ).scalar()
                if current is None:
                    raise NotFound(f"endpoint {endpoint_id} not found")
                raise Conflict(
                    f"endpoint changed meanwhile: generation is {current}, "
                    f"not {expected_generation}",
                    field="generation",
                )
        return endpoint_from_row(row)

    def set_scale_target(
        self,
        endpoint_id: int,
        *,
        expected: int | None,
        target: int,
        now: datetime,
        fence: LeaseFence | None = None,
    ) -> Endpoint:
        column = endpoints.c.scale_target
        matches = column.is_(None) if expected is None else column == expected
        with self._engine.begin() as conn:
            hold_fence(conn, fence)
            row = conn.execute(
                update(endpoints)
                .where(endpoints.c.id == endpoint_id, matches)
                .values(scale_target=target, scaled_at=now)
                .returning(*endpoints.c)
            ).first()
            if row is None:
                current = conn.execute(
                    select(endpoints.c.id, column).where(endpoints.c.id == endpoint_id)
                ).first()
                if current is None:
                    raise NotFound(f"endpoint {endpoint_id} not found")
                raise Conflict(
                    f"scale target changed meanwhile: it is {current[1]}, not {expected}",
                    field="scale_target",
                )
        return endpoint_from_row(row)

    def delete_endpoint(self, endpoint_id: int, *, fence: LeaseFence | None = None) -> None:
        """Replicas, events and endpoint-scoped tokens go with it (ON DELETE CASCADE)."""
        with self._engine.begin() as conn:
            hold_fence(conn, fence)
            gone = conn.execute(
                delete(endpoints)
                .where(endpoints.c.id == endpoint_id)
                .returning(endpoints.c.id, endpoints.c.project_id)
            ).first()
            if gone is not None:
                record_deletion(conn, gone.id, gone.project_id, self._clock.now())
        if gone is None:
            raise NotFound(f"endpoint {endpoint_id} not found")

    def _one_endpoint(self, missing: str, *conditions: Any) -> Endpoint:
        with self._engine.connect() as conn:
            row = conn.execute(select(endpoints).where(*conditions)).first()
        if row is None:
            raise NotFound(missing)
        return endpoint_from_row(row)


def _admit(conn: Connection, project_id: int, admit: Admission) -> None:
    """Lock the project, then let `admit` judge its endpoints as they are (it raises to refuse).

    The lock is a write to the project row: PostgreSQL locks the row, SQLite takes its write
    lock. Concurrent admissions for a project queue here, so each sees what the others wrote.
    """
    locked = conn.execute(
        update(projects)
        .where(projects.c.id == project_id)
        .values(name=projects.c.name)
        .returning(*projects.c)
    ).first()
    if locked is None:
        raise NotFound(f"project {project_id} not found", field="project_id")
    rows = conn.execute(
        select(endpoints).where(endpoints.c.project_id == project_id).order_by(endpoints.c.id)
    ).all()
    admit(project_from_row(locked), [endpoint_from_row(row) for row in rows])
