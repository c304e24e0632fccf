"""/api/v1/models: the project's model repository (docs/models.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, TypeVar

import anyio.from_thread
from fastapi import APIRouter, Header, Path, Request, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from modelport.api.container import ApiServices
from modelport.api.deps import CurrentPrincipal, Services
from modelport.api.errors import error_response
from modelport.domain.errors import TemporaryError
from modelport.domain.ids import DNS_LABEL_PATTERN
from modelport.domain.models import SHA256_HEADER, BadFilePath, ModelRecord, PayloadTooLarge
from modelport.models.uploads import parse_chunk
from modelport.schemas.models import (
    ModelCreate,
    ModelFilePublic,
    ModelList,
    ModelPublic,
    UploadStatus,
)
from modelport.services.models import ModelService, UploadState

router = APIRouter(prefix="/models", tags=["models"])

ModelName = Annotated[str, Path(pattern=DNS_LABEL_PATTERN, description="the model's name")]
FilePath = Annotated[str, Path(description="the file's path in the model, e.g. model.gguf")]
T = TypeVar("T")


def _models(services: ApiServices) -> ModelService:
    if services.models is None:
        raise TemporaryError("the model repository is not configured on this server")
    return services.models


def public(service: ModelService, model: ModelRecord) -> ModelPublic:
    return ModelPublic(
        id=model.id,
        name=model.name,
        description=model.description,
        status=model.status,
        files=[ModelFilePublic(path=f.path, size=f.size, sha256=f.sha256) for f in model.files],
        total_size=model.total_size,
        content_key=model.content_key,
        uploading=[u.path for u in service.uploads(model)],
        created_at=model.created_at,
        ready_at=model.ready_at,
    )


def _status(name: str, state: UploadState) -> UploadStatus:
    return UploadStatus(
        model=name,
        path=state.path,
        received=state.received,
        total=state.total,
        complete=state.complete,
        sha256=state.sha256,
    )


async def _answer(call: Callable[[], T]) -> T | JSONResponse:
    """Run `call` in the threadpool; a bad path is 400 and a size limit 413 (the other
    input errors keep the envelope's usual 422)."""
    try:
        return await run_in_threadpool(call)
    except PayloadTooLarge as exc:
        return error_response(413, "payload_too_large", exc.message, field=exc.field)
    except BadFilePath as exc:
        return error_response(400, "bad_request", exc.message, field=exc.field)


@router.post("", response_model=ModelPublic, status_code=status.HTTP_201_CREATED)
def create_model(body: ModelCreate, principal: CurrentPrincipal, services: Services) -> ModelPublic:
    """A new model, `uploading`: add its files, then mark it ready."""
    service = _models(services)
    return public(service, service.create(principal, body))


@router.get("", response_model=ModelList)
def list_models(principal: CurrentPrincipal, services: Services) -> ModelList:
    service = _models(services)
    return ModelList(items=[public(service, m) for m in service.list(principal)])


@router.get("/{name}", response_model=ModelPublic)
def get_model(name: ModelName, principal: CurrentPrincipal, services: Services) -> ModelPublic:
    service = _models(services)
    return public(service, service.get(principal, name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(name: ModelName, principal: CurrentPrincipal, services: Services) -> None:
    """409 naming the endpoints whose spec.model.model_id uses it; deletes its files."""
    _models(services).delete(principal, name)


@router.post("/{name}/ready", response_model=ModelPublic)
def mark_ready(name: ModelName, principal: CurrentPrincipal, services: Services) -> ModelPublic:
    """Finalize: computes the content key; the files are fixed from now on."""
    service = _models(services)
    return public(service, service.ready(principal, name))


@router.get("/{name}/files/{path:path}/upload", response_model=UploadStatus)
async def upload_state(
    name: ModelName, path: FilePath, principal: CurrentPrincipal, services: Services
) -> UploadStatus | JSONResponse:
    """How many bytes of the file are stored: a client resumes from `received`."""
    state = await _answer(lambda: _models(services).upload_state(principal, name, path))
    return state if isinstance(state, JSONResponse) else _status(name, state)


@router.put("/{name}/files/{path:path}", response_model=UploadStatus)
async def upload_file(
    name: ModelName,
    path: FilePath,
    request: Request,
    principal: CurrentPrincipal,
    services: Services,
    content_range: Annotated[str | None, Header()] = None,
    content_length: Annotated[str | None, Header()] = None,
    sha256: Annotated[str | None, Header(alias=SHA256_HEADER)] = None,
) -> UploadStatus | JSONResponse:
    """The body is bytes [START, END] of the file (`Content-Range: bytes START-END/TOTAL`;
    none: the whole file). `X-Content-SHA256` is the whole file's sha256, checked when its
    last byte lands. Streamed to the object store, never held whole."""
    stream = request.stream()

    def body() -> Iterator[bytes]:
        # Read in the worker thread the upload runs in, one chunk at a time from the loop.
        while True:
            try:
                yield anyio.from_thread.run(stream.__anext__)
            except StopAsyncIteration:
                return

    def call() -> UploadState:
        chunk = parse_chunk(content_range, content_length)
        return _models(services).upload(principal, name, path, chunk, sha256, body())

    state = await _answer(call)
    return state if isinstance(state, JSONResponse) else _status(name, state)
