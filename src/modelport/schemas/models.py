"""/api/v1/models request and answer models, shared by the API and the SDK."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain.models import ModelStatus
from modelport.domain.numbers import RequestModel


class ModelCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63)
    description: str = Field(default="", max_length=4096)


class ModelFilePublic(BaseModel):
    path: str
    size: int
    sha256: str


class ModelPublic(BaseModel):
    id: int  # what TIR's model_id names
    name: str
    description: str
    status: ModelStatus
    files: list[ModelFilePublic]
    total_size: int
    content_key: str | None  # sha256 of the sorted manifest, once READY
    uploading: list[str]  # paths with an upload in progress
    created_at: datetime
    ready_at: datetime | None


class ModelList(BaseModel):
    items: list[ModelPublic]


class UploadStatus(BaseModel):
    """Where one file's upload stands: a client resumes from byte `received`."""

    model: str
    path: str
    received: int  # bytes stored so far
    total: int | None  # the whole file's size; None: no upload of it yet
    complete: bool  # the file is one of the model's files (sha256 checked)
    sha256: str | None
