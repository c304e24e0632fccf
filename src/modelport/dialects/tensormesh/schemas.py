"""Tensormesh's request and response bodies (seed 003), in its camelCase JSON.

Tensormesh is a gRPC-gateway API: proto3 JSON, so a field may also arrive under its proto name
(`gpu_count` for `gpuCount`), an unset field reads as its zero value ("" / 0 / false) and an
explicit `null` as unset. Unknown fields are ignored, as gRPC-gateway's default unmarshaler
does. The seed lists only GPU types; the other enums are Modelport's (see
docs/dialects/tensormesh.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from modelport.domain.numbers import RequestModel

REGION_PATTERN = r"^{}_REGION_[A-Z0-9_]+$"


class GpuType(StrEnum):
    """The GPU a model runs on (the seed's list)."""

    UNSPECIFIED = "GPU_TYPE_UNSPECIFIED"  # any GPU (or none when gpuCount is 0)
    A100 = "GPU_TYPE_A100"  # NVIDIA A100
    H100 = "GPU_TYPE_H100"  # NVIDIA H100
    H200 = "GPU_TYPE_H200"  # NVIDIA H200
    B200 = "GPU_TYPE_B200"  # NVIDIA B200


class CloudProvider(StrEnum):
    """Where Tensormesh would place the model; one per region field of `infra`."""

    UNSPECIFIED = "CLOUD_PROVIDER_UNSPECIFIED"  # no preference
    NEBIUS = "CLOUD_PROVIDER_NEBIUS"  # region in nebiusRegion
    LAMBDA = "CLOUD_PROVIDER_LAMBDA"  # region in lambdaRegion
    ONPREM = "CLOUD_PROVIDER_ONPREM"  # region in onpremRegion (free text)


class ModelStatus(StrEnum):
    """A model's status, derived from its endpoint's phase (see statuses.py)."""

    UNSPECIFIED = "MODEL_STATUS_UNSPECIFIED"  # never returned
    PENDING = "MODEL_STATUS_PENDING"  # waiting for capacity (GPUs this host lacks)
    DEPLOYING = "MODEL_STATUS_DEPLOYING"  # replicas starting, none ready yet
    UP = "MODEL_STATUS_UP"  # serving (possibly degraded or rolling an update); Tensormesh's name
    FAILED = "MODEL_STATUS_FAILED"  # nothing ready and replicas keep failing
    STOPPING = "MODEL_STATUS_STOPPING"  # stopped through the native API; draining
    STOPPED = "MODEL_STATUS_STOPPED"  # stopped through the native API; no replica
    DELETING = "MODEL_STATUS_DELETING"  # delete asked; tearing down


class EventType(StrEnum):
    """How much a model event matters (the endpoint event's level)."""

    UNSPECIFIED = "EVENT_TYPE_UNSPECIFIED"  # never returned
    INFO = "EVENT_TYPE_INFO"  # normal progress
    WARNING = "EVENT_TYPE_WARNING"  # something failed and is retried, or an option is ignored
    ERROR = "EVENT_TYPE_ERROR"  # needs the user's attention


@dataclass(frozen=True)
class _NullAs:
    """proto3 JSON: an explicit null means the field is unset (read as `default`); the
    OpenAPI document says so, as `anyOf: [<the field's schema>, null]`."""

    default: Any

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        default = self.default
        return core_schema.no_info_before_validator_function(
            lambda value: default if value is None else value, handler(source)
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"anyOf": [handler(schema), {"type": "null"}]}


def _null_as(default: Any) -> _NullAs:
    return _NullAs(default)


def _int64(value: Any) -> Any:
    """proto3 JSON sends int64 as a number or a decimal string; a bool is not a number."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError("must be an integer, not a boolean")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


NullStr = Annotated[str, _null_as("")]
Name = Annotated[str, StringConstraints(max_length=200), _null_as("")]
Path = Annotated[str, StringConstraints(max_length=1024), _null_as("")]
Text = Annotated[str, StringConstraints(max_length=2000), _null_as("")]


class TensormeshMessage(RequestModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
        protected_namespaces=(),
    )


class Infra(TensormeshMessage):
    cloud_provider: Annotated[CloudProvider, _null_as(CloudProvider.UNSPECIFIED)] = (
        CloudProvider.UNSPECIFIED
    )
    nebius_region: Annotated[
        str, _null_as("NEBIUS_REGION_UNSPECIFIED"), Field(pattern=REGION_PATTERN.format("NEBIUS"))
    ] = "NEBIUS_REGION_UNSPECIFIED"
    lambda_region: Annotated[
        str, _null_as("LAMBDA_REGION_UNSPECIFIED"), Field(pattern=REGION_PATTERN.format("LAMBDA"))
    ] = "LAMBDA_REGION_UNSPECIFIED"
    onprem_region: Name = ""


class DeployModelRequest(TensormeshMessage):
    """POST /v1/models. Strings default to "" (proto3): emptiness is checked in translate.py."""

    model_name: Name = ""
    user_id: NullStr = ""
    description: Text = ""
    infra: Annotated[Infra, _null_as({})] = Field(default_factory=Infra)
    model_path: Path = ""
    gpu_count: Annotated[int, BeforeValidator(_int64), Field(ge=0)] = 0
    gpu_type: Annotated[GpuType, _null_as(GpuType.UNSPECIFIED)] = GpuType.UNSPECIFIED
    model_spec: Annotated[dict[str, Any], _null_as({})] = Field(default_factory=dict)
    api_key: NullStr = ""  # never stored in clear, never in logs
    hf_token: NullStr = ""  # stored encrypted (env HF_TOKEN), never returned
    kv_cache_enabled: bool | None = None  # None: the engine's default
    cpu_offloading_enabled: bool | None = None  # None: the engine's default
    node_id: Name = ""


class ModelEvent(TensormeshMessage):
    created_at: str
    log: str
    event_type: EventType


class Model(TensormeshMessage):
    """The seed's `model` object; every field is always present (gRPC-gateway emits defaults)."""

    model_id: str
    deployment_id: str  # the Modelport endpoint name: use it with the native API and CLI
    user_id: str
    description: str
    model_path: str
    model_name: str
    status: ModelStatus
    events: list[ModelEvent]
    created_at: str
    updated_at: str
    model_spec: dict[str, Any]
    infra: Infra
    gpu_count: int
    gpu_type: GpuType
    replicas: int
    endpoint: str
    api_key: str  # the key only in the response that created it; "" everywhere else


class ModelResponse(TensormeshMessage):
    model: Model


class ListModelsResponse(TensormeshMessage):
    models: list[Model]


class Empty(TensormeshMessage):
    """google.protobuf.Empty: Tensormesh answers a delete with `{}`."""


class ModelsPage(TensormeshMessage):
    """GET /v1/admin/models: one page of the project's models (pages count from 1)."""

    models: list[Model]
    page: int
    size: int
    total: int


class ValidateModelNameRequest(TensormeshMessage):
    """POST /v1/models:validate. Any string is judged, so no length limit fails the call."""

    model_name: Annotated[str, StringConstraints(max_length=4096), _null_as("")] = ""
    user_id: NullStr = ""


class ValidationResult(TensormeshMessage):
    is_valid: bool


class SearchByInfraRequest(TensormeshMessage):
    """POST /v1/models:search-by-infra: the models whose infra has every field set here."""

    infra: Infra | None = None
    user_id: NullStr = ""


class ModelCheckRequest(TensormeshMessage):
    """POST /v1/models/check: how much memory a deployed model needs."""

    model_id: NullStr = ""


class ModelCheckResult(TensormeshMessage):
    required_gpu_memory_gib: float
    required_lm_cache_memory_gib: float


class ModelChatRequest(TensormeshMessage):
    """POST /v1/models/{modelId}:chat. `body`: a user message, or a chat completion request
    as JSON (an object with `messages`)."""

    body: Annotated[str, StringConstraints(max_length=1024 * 1024), _null_as("")] = ""
    user_id: NullStr = ""


class ModelChatResponse(TensormeshMessage):
    response: str  # the reply's text; for a JSON request, the chat completion as JSON


class UserRole(StrEnum):
    """Tensormesh's user roles, from the token's Modelport role."""

    USER = "USER_ROLE_USER"  # a member or viewer token, or a model's apiKey
    ADMIN = "USER_ROLE_ADMIN"  # a project admin token
    SUPER_ADMIN = "USER_ROLE_SUPER_ADMIN"  # the server admin token


class User(TensormeshMessage):
    """GET /auth/profile's user: the caller's project, as Tensormesh's account."""

    id: str  # a UUID standing for the project: the userId to deploy with
    first_name: str
    last_name: str
    display_name: str  # the project's name
    user_email: str
    auth_provider: str
    auth_provider_id: str  # the token's id
    avatar_url: str
    user_role: UserRole
    company: str
    modelport_role: str  # admin, member or viewer: what the token may do


class ProfileResponse(TensormeshMessage):
    user: User


class LogEntry(TensormeshMessage):
    timestamp: str | None  # replica logs carry no time: always null
    message: str
    replica_id: int


class LogsResponse(TensormeshMessage):
    logs: list[LogEntry]


class MetricPoint(TensormeshMessage):
    timestamp: str
    value: float


class Metric(TensormeshMessage):
    name: str
    data: list[MetricPoint]


class MetricsResponse(TensormeshMessage):
    metrics: list[Metric]  # always empty: Modelport keeps no metric history (see /metrics)


class RpcStatus(TensormeshMessage):
    """google.rpc.Status as gRPC-gateway renders errors."""

    code: int
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)
