"""The model repository's records: a project's uploaded models, their files and the uploads
in progress. Pure: path rules and the content key are computed here, stored by store/models.py,
kept as objects by models/objects.py (docs/models.md)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from modelport.domain.errors import InvalidSpec

MAX_PATH_LENGTH = 1024
MAX_FILES = 10_000  # per model: a manifest stays a small document
SHA256_HEADER = "X-Content-SHA256"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ModelStatus(StrEnum):
    """Where a model is in its life; READY models are immutable."""

    UPLOADING = "uploading"  # created; files may be added or replaced
    READY = "ready"  # finalized: content key computed, files fixed, endpoints may use it


class ModelFile(BaseModel):
    """One stored file of a model: checked against its sha256 when its last byte landed."""

    model_config = ConfigDict(frozen=True)

    path: str  # relative, "/"-separated (check_file_path)
    size: int
    sha256: str


class ModelRecord(BaseModel):
    """A model of a project. `files` sorted by path; `content_key` set once READY."""

    model_config = ConfigDict(frozen=True)

    id: int
    project_id: int
    name: str
    description: str = ""
    status: ModelStatus
    files: tuple[ModelFile, ...] = ()
    content_key: str | None = None  # sha256 of the sorted manifest (content_key())
    created_at: datetime
    ready_at: datetime | None = None

    @property
    def total_size(self) -> int:
        return sum(f.size for f in self.files)


class UploadSession(BaseModel):
    """A file upload in progress: what the whole file will be. The bytes received so far are
    the object store's to say (models/objects.py), so a resumed upload asks it."""

    model_config = ConfigDict(frozen=True)

    id: int
    model_id: int
    path: str
    total_size: int  # the declared size of the whole file (Content-Range's total)
    sha256: str  # the declared sha256 of the whole file (X-Content-SHA256)
    created_at: datetime


class BadFilePath(InvalidSpec):
    """A file path that could leave the model's directory or is not printable: 400."""


class PayloadTooLarge(InvalidSpec):
    """A file or model over a size limit: 413 naming the limit."""


def check_file_path(path: str, *, field: str = "path") -> str:
    """The path if it names a file inside the model's directory; BadFilePath naming `field`."""
    if not path or len(path) > MAX_PATH_LENGTH:
        raise BadFilePath(f"{field}: must be 1-{MAX_PATH_LENGTH} characters", field=field)
    if path.startswith("/") or "\\" in path:
        raise BadFilePath(f"{field}: must be relative and '/'-separated", field=field)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in path):
        raise BadFilePath(f"{field}: may not contain control characters", field=field)
    if any(segment in ("", ".", "..") for segment in path.split("/")):
        raise BadFilePath(f"{field}: segments may not be empty, '.' or '..'", field=field)
    return path


def check_sha256(value: str | None, *, field: str = SHA256_HEADER) -> str:
    """A lower-case hex sha256; InvalidSpec naming `field` otherwise."""
    digest = (value or "").strip().lower()
    if not _SHA256.fullmatch(digest):
        raise InvalidSpec(f"{field}: must be the file's sha256 as 64 hex digits", field=field)
    return digest


def manifest(files: tuple[ModelFile, ...] | list[ModelFile]) -> str:
    """One line per file, sorted by path: `path<TAB>size<TAB>sha256`. Paths hold no control
    characters (check_file_path), so the lines cannot be forged by a file name."""
    return "".join(f"{f.path}\t{f.size}\t{f.sha256}\n" for f in sorted(files, key=_path))


def content_key(files: tuple[ModelFile, ...] | list[ModelFile]) -> str:
    """The sha256 of the manifest: equal keys mean equal files (caches key on it)."""
    return hashlib.sha256(manifest(files).encode()).hexdigest()


def _path(f: ModelFile) -> str:
    return f.path
