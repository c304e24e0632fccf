"""The model repository's rows: models, their finished files and the uploads in progress.

The tables are declared here, on the shared metadata (migration 0010 creates them), so the
repository's schema lives in one module. The files' bytes are models/objects.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Connection,
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
from modelport.domain.models import (
    ModelFile,
    ModelRecord,
    ModelStatus,
    UploadSession,
    content_key,
)
from modelport.store.base import Admission
from modelport.store.endpoints import _admit
from modelport.store.repository import Repository, require_row
from modelport.store.tables import UtcDateTime, metadata, projects

models = Table(
    "models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(63), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),  # ModelStatus value
    Column("content_key", String(64), nullable=True),  # set when READY
    Column("created_at", UtcDateTime, nullable=False),
    Column("ready_at", UtcDateTime, nullable=True),
    UniqueConstraint("project_id", "name"),
    sqlite_autoincrement=True,
)

model_files = Table(
    "model_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    UniqueConstraint("model_id", "path"),
    sqlite_autoincrement=True,
)

model_uploads = Table(
    "model_uploads",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, ForeignKey("models.id"), nullable=False),
    Column("path", Text, nullable=False),
    Column("total_size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("model_id", "path"),
    sqlite_autoincrement=True,
)


class ModelRepository(Repository):
    # --- models -----------------------------------------------------------------------------
    def create_model(self, project_id: int, name: str, description: str = "") -> ModelRecord:
        try:
            with self._engine.begin() as conn:
                require_row(conn, projects, project_id, "project", "project_id")
                row = conn.execute(
                    insert(models)
                    .values(
                        project_id=project_id,
                        name=name,
                        description=description,
                        status=ModelStatus.UPLOADING.value,
                        created_at=self._clock.now(),
                    )
                    .returning(*models.c)
                ).one()
                return _record(conn, row)
        except IntegrityError as exc:
            raise Conflict(f"model '{name}' already exists", field="name") from exc

    def get_model(self, project_id: int, model_id: int) -> ModelRecord:
        return self._one(models.c.id == model_id, project_id, f"model {model_id} not found")

    def get_model_by_name(self, project_id: int, name: str) -> ModelRecord:
        return self._one(models.c.name == name, project_id, f"model '{name}' not found")

    def list_models(self, project_id: int) -> Sequence[ModelRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(models).where(models.c.project_id == project_id).order_by(models.c.id)
            ).all()
            return [_record(conn, row) for row in rows]

    def mark_model_ready(self, model_id: int, now: datetime) -> ModelRecord:
        """UPLOADING -> READY with the content key of its files as this transaction sees
        them: the status write comes first, so no upload can complete in between. Conflict if
        it is not UPLOADING, has no files, or an upload of it is in progress."""
        with self._engine.begin() as conn:
            row = conn.execute(
                update(models)
                .where(models.c.id == model_id, models.c.status == ModelStatus.UPLOADING.value)
                .values(status=ModelStatus.READY.value, ready_at=now)
                .returning(models.c.id)
            ).first()
            if row is None:
                raise Conflict(f"model {model_id} is not uploading", field="name")
            pending = conn.execute(
                select(model_uploads.c.path).where(model_uploads.c.model_id == model_id)
            ).first()
            if pending is not None:
                raise Conflict(f"file '{pending.path}' is still uploading", field="path")
            files = _files(conn, model_id)
            if not files:
                raise Conflict("the model has no files yet; upload some first", field="name")
            ready = conn.execute(
                update(models)
                .where(models.c.id == model_id)
                .values(content_key=content_key(files))
                .returning(*models.c)
            ).one()
            return _record(conn, ready)

    def delete_model(
        self, project_id: int, model_id: int, *, admit: Admission | None = None
    ) -> None:
        """Rows only (files and uploads with it); NotFound if absent. `admit` judges the
        project's endpoints first, under the lock endpoint changes take."""
        with self._engine.begin() as conn:
            if admit is not None:
                _admit(conn, project_id, admit)
            owned = conn.execute(
                select(models.c.id).where(
                    models.c.id == model_id, models.c.project_id == project_id
                )
            ).first()
            if owned is None:
                raise NotFound(f"model {model_id} not found")
            conn.execute(delete(model_files).where(model_files.c.model_id == model_id))
            conn.execute(delete(model_uploads).where(model_uploads.c.model_id == model_id))
            conn.execute(delete(models).where(models.c.id == model_id))

    # --- uploads ----------------------------------------------------------------------------
    def get_model_upload(self, model_id: int, path: str) -> UploadSession | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(model_uploads).where(
                    model_uploads.c.model_id == model_id, model_uploads.c.path == path
                )
            ).first()
        return None if row is None else _session(row)

    def list_model_uploads(self, model_id: int) -> Sequence[UploadSession]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(model_uploads)
                .where(model_uploads.c.model_id == model_id)
                .order_by(model_uploads.c.id)
            ).all()
        return [_session(row) for row in rows]

    def create_model_upload(
        self, model_id: int, path: str, total_size: int, sha256: str
    ) -> UploadSession:
        """Conflict if the model is not UPLOADING or that path has an upload already."""
        try:
            with self._engine.begin() as conn:
                _require_uploading(conn, model_id)
                row = conn.execute(
                    insert(model_uploads)
                    .values(
                        model_id=model_id,
                        path=path,
                        total_size=total_size,
                        sha256=sha256,
                        created_at=self._clock.now(),
                    )
                    .returning(*model_uploads.c)
                ).one()
        except IntegrityError as exc:
            raise Conflict(f"file '{path}' is being uploaded already", field="path") from exc
        return _session(row)

    def delete_model_upload(self, upload_id: int) -> None:
        """Gone already is fine: a discarded upload is discarded."""
        with self._engine.begin() as conn:
            conn.execute(delete(model_uploads).where(model_uploads.c.id == upload_id))

    def complete_model_upload(self, upload_id: int, file: ModelFile) -> None:
        """The upload becomes the model's file `file.path` (replacing one of that path), in one
        transaction. Conflict if the upload is gone or the model is no longer UPLOADING."""
        with self._engine.begin() as conn:
            session = conn.execute(
                delete(model_uploads)
                .where(model_uploads.c.id == upload_id)
                .returning(model_uploads.c.model_id)
            ).first()
            if session is None:
                raise Conflict(f"the upload of '{file.path}' was discarded", field="path")
            model_id = session.model_id
            _require_uploading(conn, model_id)
            conn.execute(
                delete(model_files).where(
                    model_files.c.model_id == model_id, model_files.c.path == file.path
                )
            )
            conn.execute(
                insert(model_files).values(
                    model_id=model_id, path=file.path, size=file.size, sha256=file.sha256
                )
            )

    def _one(self, match: ColumnElement[bool], project_id: int, missing: str) -> ModelRecord:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(models).where(match, models.c.project_id == project_id)
            ).first()
            if row is None:
                raise NotFound(missing)
            return _record(conn, row)


def _require_uploading(conn: Connection, model_id: int) -> None:
    status = conn.execute(select(models.c.status).where(models.c.id == model_id)).scalar()
    if status is None:
        raise NotFound(f"model {model_id} not found")
    if status != ModelStatus.UPLOADING.value:
        raise Conflict(f"model {model_id} is {status}: its files are fixed", field="name")


def _record(conn: Connection, row: Row[tuple[object, ...]]) -> ModelRecord:
    m = row._mapping
    return ModelRecord(
        id=m["id"],
        project_id=m["project_id"],
        name=m["name"],
        description=m["description"],
        status=ModelStatus(m["status"]),
        files=_files(conn, m["id"]),
        content_key=m["content_key"],
        created_at=m["created_at"],
        ready_at=m["ready_at"],
    )


def _files(conn: Connection, model_id: int) -> tuple[ModelFile, ...]:
    rows = conn.execute(
        select(model_files.c.path, model_files.c.size, model_files.c.sha256).where(
            model_files.c.model_id == model_id
        )
    ).all()
    # Sorted here, not by SQL: PostgreSQL's collation may order paths differently.
    found = (ModelFile(path=r.path, size=r.size, sha256=r.sha256) for r in rows)
    return tuple(sorted(found, key=lambda f: f.path))


def _session(row: Row[tuple[object, ...]]) -> UploadSession:
    return UploadSession.model_validate(dict(row._mapping))
