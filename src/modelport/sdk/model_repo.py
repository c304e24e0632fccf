"""The model repository in the SDK: the calls as data (shared by Client and AsyncClient) and
the chunked, resumable file upload (docs/models.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx

from modelport.schemas.models import ModelList, ModelPublic, UploadStatus
from modelport.sdk.calls import API, ApiCall, _model, _nothing, decode

CHUNK_BYTES = 4 * 1024 * 1024  # under the server's default 8 MiB request body limit
SHA256_HEADER = "X-Content-SHA256"
Progress = Callable[[int, int], None]  # (bytes of this file stored, its size)


def _models(name: str) -> str:
    return f"{API}/models/{quote(name, safe='')}"


def _file(name: str, path: str) -> str:
    return f"{_models(name)}/files/{quote(path, safe='/')}"


def create_model(name: str, description: str = "") -> ApiCall[ModelPublic]:
    body = {"name": name, "description": description}
    return ApiCall("POST", f"{API}/models", _model(ModelPublic), body=body)


def list_models() -> ApiCall[ModelList]:
    return ApiCall("GET", f"{API}/models", _model(ModelList))


def get_model(name: str) -> ApiCall[ModelPublic]:
    return ApiCall("GET", _models(name), _model(ModelPublic))


def mark_model_ready(name: str) -> ApiCall[ModelPublic]:
    return ApiCall("POST", f"{_models(name)}/ready", _model(ModelPublic))


def delete_model(name: str) -> ApiCall[None]:
    return ApiCall("DELETE", _models(name), _nothing)


def upload_status(name: str, path: str) -> ApiCall[UploadStatus]:
    return ApiCall("GET", f"{_file(name, path)}/upload", _model(UploadStatus))


def file_sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def upload_file(
    http: httpx.Client,
    name: str,
    file: Path,
    path: str,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    progress: Progress | None = None,
) -> UploadStatus:
    """Upload `file` as `path` of model `name`, resuming where the server's copy of an
    earlier attempt ends (same size and sha256), one chunk per request."""
    sha, total = file_sha256(file), file.stat().st_size
    state = _ask(http, upload_status(name, path))
    same = state.total == total and state.sha256 == sha
    if same and state.complete:
        _report(progress, total, total)
        return state
    offset = state.received if same else 0
    url = _file(name, path)
    with file.open("rb") as f:
        f.seek(offset)
        while True:
            data = f.read(chunk_bytes)
            headers = {SHA256_HEADER: sha, "Content-Type": "application/octet-stream"}
            if total:  # an empty file is one request without a range
                headers["Content-Range"] = f"bytes {offset}-{offset + len(data) - 1}/{total}"
            response = http.put(url, content=data, headers=headers)
            state = decode(ApiCall("PUT", url, _model(UploadStatus)), response)
            _report(progress, state.received, total)
            if state.complete:
                return state
            offset = state.received
            f.seek(offset)


def _ask(http: httpx.Client, call: ApiCall[UploadStatus]) -> UploadStatus:
    return decode(call, http.request(call.method, call.path))


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)
