"""/api/v1/datasets: where the project's async results land (docs/datasets.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from modelport.api.container import ApiServices
from modelport.api.deps import CurrentPrincipal, Services
from modelport.domain.datasets import Dataset
from modelport.domain.errors import TemporaryError
from modelport.domain.ids import DNS_LABEL_PATTERN
from modelport.schemas.datasets import (
    MAX_OBJECTS_PAGE,
    DatasetCreate,
    DatasetList,
    DatasetPublic,
    ObjectList,
)
from modelport.services.datasets import DatasetService

router = APIRouter(prefix="/datasets", tags=["datasets"])

DatasetName = Annotated[str, Path(pattern=DNS_LABEL_PATTERN, description="the dataset's name")]


def _datasets(services: ApiServices) -> DatasetService:
    if services.datasets is None:
        raise TemporaryError("datasets are not configured on this server")
    return services.datasets


def public(dataset: Dataset) -> DatasetPublic:
    """Never the credentials: only whether there are some."""
    return DatasetPublic(
        id=dataset.id,
        name=dataset.name,
        kind=dataset.kind,
        url=dataset.url,
        options=dataset.options,
        has_credentials=dataset.has_credentials,
        created_at=dataset.created_at,
    )


@router.post("", response_model=DatasetPublic, status_code=status.HTTP_201_CREATED)
def create_dataset(
    body: DatasetCreate, principal: CurrentPrincipal, services: Services
) -> DatasetPublic:
    """Credentials are sealed at rest and never shown again."""
    return public(_datasets(services).create(principal, body))


@router.get("", response_model=DatasetList)
def list_datasets(principal: CurrentPrincipal, services: Services) -> DatasetList:
    return DatasetList(items=[public(d) for d in _datasets(services).list(principal)])


@router.get("/{name}", response_model=DatasetPublic)
def get_dataset(
    name: DatasetName, principal: CurrentPrincipal, services: Services
) -> DatasetPublic:
    return public(_datasets(services).get(principal, name))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(name: DatasetName, principal: CurrentPrincipal, services: Services) -> None:
    """409 while an endpoint's async_config uses it; the stored objects are kept."""
    _datasets(services).delete(principal, name)


@router.get("/{name}/objects", response_model=ObjectList)
def list_objects(
    name: DatasetName,
    principal: CurrentPrincipal,
    services: Services,
    prefix: Annotated[str, Query(max_length=1024)] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_OBJECTS_PAGE)] = 1000,
) -> ObjectList:
    """Keys starting with `prefix` (a plain prefix, as in S3), sorted."""
    keys, truncated = _datasets(services).objects(principal, name, prefix, limit)
    return ObjectList(dataset=name, prefix=prefix, keys=list(keys), truncated=truncated)


@router.get(
    "/{name}/objects/{key:path}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}, "application/json": {}}}},
)
def read_object(
    name: DatasetName, key: str, principal: CurrentPrincipal, services: Services
) -> Response:
    """One object's bytes, e.g. a result file `api/is-{endpoint_id}/response/{id}.json`."""
    data = _datasets(services).read_object(principal, name, key)
    media = "application/json" if key.endswith(".json") else "application/octet-stream"
    return Response(content=data, media_type=media)
