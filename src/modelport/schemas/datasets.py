"""/api/v1/datasets request and answer models, shared by the API and the SDK."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain.datasets import StorageCredentials, StorageKind, StorageOptions
from modelport.domain.numbers import RequestModel

MAX_OBJECTS_PAGE = 10_000


class DatasetCreate(RequestModel):
    """`kind` defaults from `url`: an fsspec URL (with '://') or a local directory. A local
    dataset without url lives in $MODELPORT_HOME/datasets/<project>/<name>; a relative url is
    under $MODELPORT_HOME/datasets/<project>/; an absolute one needs host access."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=63)
    kind: StorageKind | None = None
    url: str | None = Field(default=None, min_length=1, max_length=2048)
    options: StorageOptions = StorageOptions()
    credentials: StorageCredentials | None = None  # sealed at rest; never shown again


class DatasetPublic(BaseModel):
    """A dataset as answers show it: never its credentials, only whether it has some."""

    id: int
    name: str
    kind: StorageKind
    url: str
    options: StorageOptions
    has_credentials: bool
    created_at: datetime


class DatasetList(BaseModel):
    items: list[DatasetPublic]


class ObjectList(BaseModel):
    dataset: str
    prefix: str
    keys: list[str]  # sorted; at most `limit`
    truncated: bool  # more keys matched than `limit`
