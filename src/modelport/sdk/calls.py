"""Every API call as data (method, path, query, body, parser), shared by Client and AsyncClient.

The two clients differ only in how they send a request; what to send and how to read the
answer lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from modelport.domain.records import Role
from modelport.domain.specs import EndpointSpec
from modelport.schemas.autoscale import AutoscaleStatus
from modelport.schemas.datasets import DatasetCreate, DatasetList, DatasetPublic, ObjectList
from modelport.schemas.invocations import InvocationList, InvocationPublic
from modelport.schemas.native import (
    ActionResult,
    EndpointCreated,
    EndpointList,
    EndpointPublic,
    EventList,
    LogsList,
    ProjectPublic,
    ReplicaList,
    ReplicaPublic,
    TokenCreated,
    TokenList,
)
from modelport.schemas.usage import GroupBy, Series, UsageReport
from modelport.sdk.errors import error_from_response
from modelport.sdk.models import Health, ProjectCreated, ProjectList, WhoAmI

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

API = "/api/v1"
DEFAULT_TAIL_BYTES = 65536


@dataclass(frozen=True, slots=True)
class ApiCall(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, int | str | Sequence[str]] = field(default_factory=dict)  # list: repeated
    body: Any = None  # JSON-able; None sends no body


def decode(call: ApiCall[T], response: httpx.Response) -> T:
    """The parsed answer, or the typed error for an error status."""
    if response.status_code >= 400:
        raise error_from_response(response)
    return call.parse(response)


def _model(cls: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: cls.model_validate_json(response.content)


def _nothing(_response: httpx.Response) -> None:
    return None


def _endpoint(name: str) -> str:
    return f"{API}/endpoints/{quote(name, safe='')}"


def health() -> ApiCall[Health]:
    return ApiCall("GET", "/healthz", _model(Health))


def whoami() -> ApiCall[WhoAmI]:
    return ApiCall("GET", f"{API}/whoami", _model(WhoAmI))


def create_endpoint(name: str, spec: EndpointSpec | Mapping[str, Any]) -> ApiCall[EndpointCreated]:
    # A dict goes as-is so the server validates it and names the field in its error.
    spec_json = spec.model_dump(mode="json") if isinstance(spec, EndpointSpec) else dict(spec)
    body = {"name": name, "spec": spec_json}
    return ApiCall("POST", f"{API}/endpoints", _model(EndpointCreated), body=body)


@dataclass(frozen=True, slots=True)
class EndpointFilters:
    """What GET /api/v1/endpoints narrows on (each optional; phases: any of them)."""

    name_prefix: str = ""
    state: str | None = None  # desired state: running / stopped
    phases: Sequence[str] = ()
    framework: str | None = None

    def params(self) -> dict[str, int | str | Sequence[str]]:
        params: dict[str, int | str | Sequence[str]] = {}
        if self.name_prefix:
            params["name_prefix"] = self.name_prefix
        if self.state is not None:
            params["state"] = self.state
        if self.phases:
            params["phase"] = list(self.phases)
        if self.framework is not None:
            params["framework"] = self.framework
        return params


def list_endpoints(
    limit: int | None = None, cursor: str | None = None, filters: EndpointFilters | None = None
) -> ApiCall[EndpointList]:
    """One page (the server's default size unless `limit`); `cursor`: a page's next_cursor."""
    params = (filters or EndpointFilters()).params()
    if limit is not None:
        params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    return ApiCall("GET", f"{API}/endpoints", _model(EndpointList), params=params)


def get_endpoint(name: str) -> ApiCall[EndpointPublic]:
    return ApiCall("GET", _endpoint(name), _model(EndpointPublic))


def patch_endpoint(
    name: str, changes: Mapping[str, Any], generation: int | None = None
) -> ApiCall[EndpointPublic]:
    body: dict[str, Any] = {"spec": dict(changes)}
    if generation is not None:
        body["generation"] = generation
    return ApiCall("PATCH", _endpoint(name), _model(EndpointPublic), body=body)


def delete_endpoint(name: str) -> ApiCall[ActionResult]:
    return ApiCall("DELETE", _endpoint(name), _parse_deleted)


def _parse_deleted(response: httpx.Response) -> ActionResult:
    # The answer is an ActionResult; a bare EndpointPublic is accepted too.
    data = response.json()
    if isinstance(data, dict) and "endpoint" in data:
        return ActionResult.model_validate(data)
    return ActionResult(endpoint=EndpointPublic.model_validate(data), message="deleting")


def endpoint_action(name: str, action: str) -> ApiCall[ActionResult]:
    return ApiCall("POST", f"{_endpoint(name)}/{action}", _model(ActionResult))


def replicas(name: str) -> ApiCall[ReplicaList]:
    return ApiCall("GET", f"{_endpoint(name)}/replicas", _model(ReplicaList))


def restart_replica(name: str, replica_id: int) -> ApiCall[ReplicaPublic]:
    path = f"{_endpoint(name)}/replicas/{int(replica_id)}/restart"
    return ApiCall("POST", path, _model(ReplicaPublic))


def events(name: str, after_id: int = 0, limit: int = 200) -> ApiCall[EventList]:
    params = {"after_id": after_id, "limit": limit}
    return ApiCall("GET", f"{_endpoint(name)}/events", _model(EventList), params=params)


def logs(name: str, tail_bytes: int = DEFAULT_TAIL_BYTES) -> ApiCall[LogsList]:
    params = {"tail_bytes": tail_bytes}
    return ApiCall("GET", f"{_endpoint(name)}/logs", _model(LogsList), params=params)


def create_token(
    name: str, role: Role | str = Role.MEMBER, endpoint: str | None = None
) -> ApiCall[TokenCreated]:
    body = {"name": name, "role": str(role), "endpoint": endpoint}
    return ApiCall("POST", f"{API}/tokens", _model(TokenCreated), body=body)


def list_tokens() -> ApiCall[TokenList]:
    return ApiCall("GET", f"{API}/tokens", _model(TokenList))


def revoke_token(token_id: int) -> ApiCall[None]:
    return ApiCall("DELETE", f"{API}/tokens/{int(token_id)}", _nothing)


def projects() -> ApiCall[ProjectList]:
    return ApiCall("GET", f"{API}/projects", _model(ProjectList))


def create_project(name: str) -> ApiCall[ProjectCreated]:
    return ApiCall("POST", f"{API}/projects", _model(ProjectCreated), body={"name": name})


def _project(name: str) -> str:
    return f"{API}/projects/{quote(name, safe='')}"


def get_project(name: str) -> ApiCall[ProjectPublic]:
    return ApiCall("GET", _project(name), _model(ProjectPublic))


def update_project(
    name: str,
    limits: Mapping[str, int | None] | None = None,
    host_access: bool | None = None,
) -> ApiCall[ProjectPublic]:
    """Limits named change (None: unlimited), the others stay; host_access None: unchanged."""
    body: dict[str, Any] = {}
    if limits is not None:
        body["limits"] = dict(limits)
    if host_access is not None:
        body["host_access"] = host_access
    return ApiCall("PATCH", _project(name), _model(ProjectPublic), body=body)


def create_project_token(
    project: str, name: str, role: Role | str = Role.ADMIN
) -> ApiCall[TokenCreated]:
    body = {"name": name, "role": str(role)}
    return ApiCall("POST", f"{_project(project)}/tokens", _model(TokenCreated), body=body)


# --- autoscale (GET .../autoscale; set through patch_endpoint's spec.autoscale) -------------
def autoscale_status(name: str, decisions: int = 10) -> ApiCall[AutoscaleStatus]:
    params = {"decisions": decisions}
    return ApiCall("GET", f"{_endpoint(name)}/autoscale", _model(AutoscaleStatus), params=params)


def set_autoscale(
    name: str, changes: Mapping[str, Any], generation: int | None = None
) -> ApiCall[EndpointPublic]:
    """Merge `changes` into spec.autoscale (rules, a list, are replaced whole); no rollout."""
    return patch_endpoint(name, {"autoscale": dict(changes)}, generation)


# --- datasets (where async results land) ---------------------------------------------------
def _dataset(name: str) -> str:
    return f"{API}/datasets/{quote(name, safe='')}"


def create_dataset(body: DatasetCreate | Mapping[str, Any]) -> ApiCall[DatasetPublic]:
    data = (
        body.model_dump(mode="json", exclude_none=True)
        if isinstance(body, DatasetCreate)
        else dict(body)
    )
    return ApiCall("POST", f"{API}/datasets", _model(DatasetPublic), body=data)


def list_datasets() -> ApiCall[DatasetList]:
    return ApiCall("GET", f"{API}/datasets", _model(DatasetList))


def get_dataset(name: str) -> ApiCall[DatasetPublic]:
    return ApiCall("GET", _dataset(name), _model(DatasetPublic))


def delete_dataset(name: str) -> ApiCall[None]:
    return ApiCall("DELETE", _dataset(name), _nothing)


def dataset_objects(name: str, prefix: str = "", limit: int = 1000) -> ApiCall[ObjectList]:
    params: dict[str, int | str] = {"prefix": prefix, "limit": limit}
    return ApiCall("GET", f"{_dataset(name)}/objects", _model(ObjectList), params=params)


def read_dataset_object(name: str, key: str) -> ApiCall[bytes]:
    path = f"{_dataset(name)}/objects/{quote(key, safe='/')}"
    return ApiCall("GET", path, lambda response: response.content)


# --- async invocations (submitting is a gateway call: sdk/invocations.py) ------------------
def _invocations(name: str) -> str:
    return f"{_endpoint(name)}/invocations"


def list_invocations(
    name: str,
    statuses: Sequence[str] = (),
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> ApiCall[InvocationList]:
    params: dict[str, int | str | Sequence[str]] = {"limit": limit, "offset": offset}
    if statuses:
        params["status"] = [str(s) for s in statuses]
    if since is not None:
        params["since"] = since.isoformat()
    return ApiCall("GET", _invocations(name), _model(InvocationList), params=params)


def get_invocation(name: str, invocation_id: str) -> ApiCall[InvocationPublic]:
    path = f"{_invocations(name)}/{quote(invocation_id, safe='')}"
    return ApiCall("GET", path, _model(InvocationPublic))


def cancel_invocation(name: str, invocation_id: str) -> ApiCall[InvocationPublic]:
    path = f"{_invocations(name)}/{quote(invocation_id, safe='')}/cancel"
    return ApiCall("POST", path, _model(InvocationPublic))


# --- usage (GET /usage) and an endpoint's graph series -----------------------------------
def usage(
    start: datetime | None = None,
    end: datetime | None = None,
    group_by: GroupBy | str = GroupBy.ENDPOINT,
    endpoint: str | None = None,
    project: str | None = None,
) -> ApiCall[UsageReport]:
    params: dict[str, int | str | Sequence[str]] = {"group_by": GroupBy(group_by).value}
    for key, value in (("from", start), ("to", end)):
        if value is not None:
            params[key] = value.isoformat()
    for key, text in (("endpoint", endpoint), ("project", project)):
        if text is not None:
            params[key] = text
    return ApiCall("GET", f"{API}/usage", _model(UsageReport), params=params)


def series(name: str, window: int = 900, step: int = 10) -> ApiCall[Series]:
    params = {"window": window, "step": step}
    return ApiCall("GET", f"{_endpoint(name)}/series", _model(Series), params=params)
