"""The model repository: a project's uploaded models (docs/models.md). Every call is scoped to
the caller's project; the bytes go through models/objects.py, streamed, never whole in memory."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from modelport.clock import Clock
from modelport.domain.errors import Conflict, InvalidSpec, ModelportError, NotFound
from modelport.domain.ids import MAX_ID, validate_name
from modelport.domain.models import (
    MAX_FILES,
    ModelFile,
    ModelRecord,
    ModelStatus,
    PayloadTooLarge,
    UploadSession,
    check_file_path,
    check_sha256,
)
from modelport.domain.records import Endpoint, Project
from modelport.models.files import ModelFiles
from modelport.models.objects import ObjectStore, file_key, model_prefix, upload_key
from modelport.models.uploads import Chunk, Writers, within
from modelport.schemas.models import ModelCreate
from modelport.services.auth import Principal
from modelport.store.base import Store

MODEL_REF_FIELD = "spec.model.model_id"
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelLimits:
    max_file_bytes: int  # MODELPORT_MODEL_MAX_FILE_BYTES
    max_model_bytes: int  # MODELPORT_MODEL_MAX_BYTES: all files of one model


@dataclass(frozen=True, slots=True)
class UploadState:
    """One file's upload as the API answers it."""

    path: str
    received: int
    total: int | None
    complete: bool
    sha256: str | None


class ModelService:
    def __init__(
        self, store: Store, objects: ObjectStore, limits: ModelLimits, clock: Clock
    ) -> None:
        self._store = store
        self._objects = objects
        self._limits = limits
        self._clock = clock
        self._writers = Writers()

    # --- what endpoints and the model fetcher use -------------------------------------------
    def resolve(self, project_id: int, ref: str, *, field: str = MODEL_REF_FIELD) -> ModelRecord:
        """The READY model `ref` names in the project: its id (digits, as TIR sends it) or its
        name. InvalidSpec naming `field` when there is none or it is still uploading."""
        try:
            model = self._by_ref(project_id, ref)
        except NotFound as exc:
            raise InvalidSpec(f"{field}: no model '{ref}' in this project", field=field) from exc
        if model.status is not ModelStatus.READY:
            raise InvalidSpec(
                f"{field}: model '{ref}' is {model.status.value}; finish its upload first",
                field=field,
            )
        return model

    def files_of(self, project_id: int, ref: str) -> ModelFiles:
        """A READY model's files: in place (ModelFiles.local_dir) or to copy (copy_to)."""
        return ModelFiles(self.resolve(project_id, ref), self._objects)

    # --- the resource -----------------------------------------------------------------------
    def create(self, principal: Principal, body: ModelCreate) -> ModelRecord:
        principal.require_mutate()
        try:
            validate_name(body.name)
        except ValueError as exc:
            raise InvalidSpec(str(exc), field="name") from exc
        return self._store.create_model(principal.project_id, body.name, body.description)

    def get(self, principal: Principal, name: str) -> ModelRecord:
        _no_inference_key(principal)
        return self._store.get_model_by_name(principal.project_id, name)

    def list(self, principal: Principal) -> Sequence[ModelRecord]:
        _no_inference_key(principal)
        return self._store.list_models(principal.project_id)

    def uploads(self, model: ModelRecord) -> Sequence[UploadSession]:
        return self._store.list_model_uploads(model.id)

    def ready(self, principal: Principal, name: str) -> ModelRecord:
        """UPLOADING -> READY (the content key is computed); READY again is a no-op."""
        principal.require_mutate()
        model = self._store.get_model_by_name(principal.project_id, name)
        if model.status is ModelStatus.READY:
            return model
        return self._store.mark_model_ready(model.id, self._clock.now())

    def delete(self, principal: Principal, name: str) -> None:
        """Conflict naming the endpoints whose spec.model.model_id names it; then its objects
        go too."""
        principal.require_mutate()
        model = self._store.get_model_by_name(principal.project_id, name)

        def unused(_project: Project, endpoints: Sequence[Endpoint]) -> None:
            users = [
                e.name for e in endpoints if e.spec.model.model_id in (model.name, str(model.id))
            ]
            if users:
                raise Conflict(
                    f"model '{name}' is used by endpoint(s) {', '.join(users)} "
                    "(spec.model.model_id); change or delete those first",
                    field="name",
                )

        self._store.delete_model(principal.project_id, model.id, admit=unused)
        try:
            self._objects.delete_tree(model_prefix(model.project_id, model.id))
        except (OSError, ModelportError) as exc:  # the rows are gone: objects are orphans now
            log.warning("model %s: its objects were not all deleted: %s", model.id, exc)

    # --- uploads ----------------------------------------------------------------------------
    def upload_state(self, principal: Principal, name: str, path: str) -> UploadState:
        check_file_path(path)
        model = self.get(principal, name)
        session = self._store.get_model_upload(model.id, path)
        if session is not None:
            key = upload_key(model.project_id, model.id, session.id)
            received = self._objects.stored(key)
            return UploadState(path, received, session.total_size, False, session.sha256)
        done = next((f for f in model.files if f.path == path), None)
        if done is not None:
            return UploadState(path, done.size, done.size, True, done.sha256)
        return UploadState(path, 0, None, False, None)

    def upload(
        self,
        principal: Principal,
        name: str,
        path: str,
        chunk: Chunk,
        sha256: str | None,
        body: Iterable[bytes],
    ) -> UploadState:
        """Store one chunk of `path`; the chunk that completes the file checks its sha256
        and makes it one of the model's files. A chunk starting at 0 starts the file over."""
        principal.require_mutate()
        check_file_path(path)
        digest = check_sha256(sha256)
        model = self._store.get_model_by_name(principal.project_id, name)
        if model.status is not ModelStatus.UPLOADING:
            raise Conflict(f"model '{name}' is ready: its files are fixed", field="name")
        self._check_size(model, path, chunk)
        with self._writers.hold(model.id, path):
            session = self._session(model, path, chunk, digest)
            key = upload_key(model.project_id, model.id, session.id)
            received = self._objects.append(key, chunk.start, within(body, chunk))
            if received < chunk.total:
                return UploadState(path, received, chunk.total, False, digest)
            try:
                size = self._objects.finish(key, file_key(model.project_id, model.id, path), digest)
            except InvalidSpec:
                self._store.delete_model_upload(session.id)  # its bytes were discarded
                raise
            self._store.complete_model_upload(
                session.id, ModelFile(path=path, size=size, sha256=digest)
            )
            return UploadState(path, size, size, True, digest)

    def _session(self, model: ModelRecord, path: str, chunk: Chunk, digest: str) -> UploadSession:
        """The upload this chunk continues; a new one for a chunk at byte 0."""
        session = self._store.get_model_upload(model.id, path)
        if chunk.start == 0:
            if session is not None:
                self._discard(model, session)
            return self._store.create_model_upload(model.id, path, chunk.total, digest)
        if session is None:
            raise Conflict(
                f"Content-Range: no upload of '{path}' is in progress; start at byte 0",
                field="Content-Range",
            )
        if session.total_size != chunk.total or session.sha256 != digest:
            raise Conflict(
                f"Content-Range: the upload of '{path}' in progress is of {session.total_size} "
                "bytes with another sha256; send it again from byte 0 to start over",
                field="Content-Range",
            )
        return session

    def _discard(self, model: ModelRecord, session: UploadSession) -> None:
        self._store.delete_model_upload(session.id)
        self._objects.discard(upload_key(model.project_id, model.id, session.id))

    def _check_size(self, model: ModelRecord, path: str, chunk: Chunk) -> None:
        limits = self._limits
        if chunk.total > limits.max_file_bytes:
            raise PayloadTooLarge(
                f"{chunk.field}: the file's {chunk.total} bytes are over the "
                f"{limits.max_file_bytes}-byte limit per file (MODELPORT_MODEL_MAX_FILE_BYTES)",
                field=chunk.field,
            )
        others = [f for f in model.files if f.path != path]
        if len(others) >= MAX_FILES:
            raise PayloadTooLarge(f"path: a model holds at most {MAX_FILES} files", field="path")
        pending = [u for u in self.uploads(model) if u.path != path]
        total = sum(f.size for f in others) + sum(u.total_size for u in pending) + chunk.total
        if total > limits.max_model_bytes:
            raise PayloadTooLarge(
                f"{chunk.field}: the model would hold {total} bytes, over the "
                f"{limits.max_model_bytes}-byte limit per model (MODELPORT_MODEL_MAX_BYTES)",
                field=chunk.field,
            )

    def _by_ref(self, project_id: int, ref: str) -> ModelRecord:
        """An id (digits, as TIR sends it) first, else a name (a name may be digits too)."""
        if ref.isdigit() and int(ref) <= MAX_ID:  # a larger number is no id the database has
            try:
                return self._store.get_model(project_id, int(ref))
            except NotFound:
                pass
        return self._store.get_model_by_name(project_id, ref)


def _no_inference_key(principal: Principal) -> None:
    # Inference keys call one endpoint; the repository is the project's.
    if principal.endpoint_id is not None:
        raise NotFound("models are not visible to an inference key")
