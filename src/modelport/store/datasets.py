"""Datasets: where a project's async results land. Credentials are stored sealed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, insert, select
from sqlalchemy.exc import IntegrityError

from modelport.domain.datasets import Dataset, StorageKind, StorageOptions
from modelport.domain.errors import Conflict, NotFound
from modelport.store.base import Admission
from modelport.store.endpoints import _admit
from modelport.store.repository import Repository, require_row
from modelport.store.rows import dataset_from_row
from modelport.store.tables import datasets, projects


class DatasetRepository(Repository):
    def create_dataset(
        self,
        project_id: int,
        name: str,
        kind: StorageKind,
        url: str,
        *,
        options: StorageOptions | None = None,
        sealed_credentials: str | None = None,
    ) -> Dataset:
        try:
            with self._engine.begin() as conn:
                require_row(conn, projects, project_id, "project", "project_id")
                row = conn.execute(
                    insert(datasets)
                    .values(
                        project_id=project_id,
                        name=name,
                        kind=kind.value,
                        url=url,
                        options=(options or StorageOptions()).model_dump_json(),
                        sealed_credentials=sealed_credentials,
                        created_at=self._clock.now(),
                    )
                    .returning(*datasets.c)
                ).one()
        except IntegrityError as exc:
            raise Conflict(f"dataset '{name}' already exists", field="name") from exc
        return dataset_from_row(row)

    def get_dataset(self, project_id: int, dataset_id: int) -> Dataset:
        return self._one_dataset(
            datasets.c.id == dataset_id, project_id, f"dataset {dataset_id} not found"
        )

    def get_dataset_by_name(self, project_id: int, name: str) -> Dataset:
        return self._one_dataset(datasets.c.name == name, project_id, f"dataset '{name}' not found")

    def list_datasets(self, project_id: int) -> Sequence[Dataset]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(datasets).where(datasets.c.project_id == project_id).order_by(datasets.c.id)
            ).all()
        return [dataset_from_row(row) for row in rows]

    def delete_dataset(
        self, project_id: int, dataset_id: int, *, admit: Admission | None = None
    ) -> None:
        """NotFound if absent. `admit` judges the project's endpoints first (under the project
        lock endpoint changes take too), so no endpoint starts using it meanwhile."""
        with self._engine.begin() as conn:
            if admit is not None:
                _admit(conn, project_id, admit)
            gone = conn.execute(
                delete(datasets)
                .where(datasets.c.id == dataset_id, datasets.c.project_id == project_id)
                .returning(datasets.c.id)
            ).first()
        if gone is None:
            raise NotFound(f"dataset {dataset_id} not found")

    def _one_dataset(self, match: ColumnElement[bool], project_id: int, missing: str) -> Dataset:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(datasets).where(match, datasets.c.project_id == project_id)
            ).first()
        if row is None:
            raise NotFound(missing)
        return dataset_from_row(row)
