"""Datasets: where async invocation results land (a local directory or an fsspec URL)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class StorageKind(StrEnum):
    """Where a dataset's objects are kept."""

    LOCAL = "local"  # a directory on the server's host (under the server home by default)
    FSSPEC = "fsspec"  # an fsspec URL, e.g. s3://bucket/prefix


class StorageOptions(BaseModel):
    """Non-secret options of an fsspec dataset (shown in answers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint_url: str | None = Field(default=None, max_length=2048)  # S3-compatible servers
    region: str | None = Field(default=None, max_length=64)


class StorageCredentials(BaseModel):
    """Secret credentials of an fsspec dataset; stored sealed, never shown or logged."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=1, max_length=1024, repr=False)
    secret: str = Field(min_length=1, max_length=4096, repr=False)
    token: str | None = Field(default=None, max_length=8192, repr=False)  # session token


class Dataset(BaseModel):
    """A project's dataset. `url` is an absolute directory (LOCAL) or an fsspec URL (FSSPEC)."""

    model_config = ConfigDict(frozen=True)

    id: int
    project_id: int
    name: str
    kind: StorageKind
    url: str
    options: StorageOptions = StorageOptions()
    # StorageCredentials JSON sealed with the server's SecretBox. Excluded from every dump;
    # only datasets/storage.py unseals it, to open the storage.
    sealed_credentials: str | None = Field(default=None, exclude=True, repr=False)
    created_at: datetime

    @property
    def has_credentials(self) -> bool:
        return self.sealed_credentials is not None
