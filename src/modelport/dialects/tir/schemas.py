"""TIR's request bodies (seeds 000, 001 and 004) as pydantic models.

Field names, defaults and ranges follow TIR's create-endpoint API and its Terraform provider's
`tir_model_endpoint` resource. Unknown keys are ignored, as TIR's own API does, so a client that
sends fields this page does not list (e.g. `category`) keeps working.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from modelport.dialects.tir import terraform
from modelport.domain.ids import MAX_ID
from modelport.domain.numbers import RequestModel
from modelport.domain.specs import RuntimeKind
from modelport.domain.text import Line, Text

EngineArg = str | int | float | bool | None

DEFAULT_DISK_PATH = "/mnt/models"
TIR_SERVING_PORT = 8080  # the port TIR's containers serve on; probes default to it


class TirModel(RequestModel):
    model_config = ConfigDict(extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _null_strings_are_unset(cls, data: Any) -> Any:
        """The e2enetworks SDK sends null for a string it has no value for (dataset_path,
        hugging_face_id, ...): such a field takes its default, as when it is left out."""
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {
            key: value
            for key, value in data.items()
            if value is not None or key not in fields or not isinstance(fields[key].default, str)
        }


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _empty_is_none(value: Any) -> Any:
    """Terraform sends "" for an id it has no value for."""
    return None if value == "" else value


def _reference(value: int | str | None) -> int | str | None:
    """An id (TIR's integers; a string of digits stays a string, as Terraform sends it) or,
    Modelport's addition, a name (models and integrations are also named)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("must be an id or a name, not a boolean")
    text = str(value).strip()
    if text.isdigit():
        if not 1 <= int(text) <= MAX_ID:
            raise ValueError(f"an id must be between 1 and {MAX_ID}")
        return int(text) if isinstance(value, int) else str(int(text))
    if not text or len(text) > 100 or not text.isprintable():
        raise ValueError("must be an id or a name (printable, at most 100 characters)")
    return text


# A model or integration: TIR's integer id, or a Modelport name.
Reference = Annotated[int | str | None, BeforeValidator(_empty_is_none), AfterValidator(_reference)]
ClusterType = Annotated[Literal["tir-cluster", "private-cluster"], BeforeValidator(_lower)]
OptionalId = Annotated[
    Annotated[int, Field(ge=1, le=MAX_ID)] | None, BeforeValidator(_empty_is_none)
]


class ProbeIn(TirModel):
    """`readiness_probe` / `liveness_probe` (seed 001), with the Terraform provider's defaults."""

    protocol: Annotated[Literal["http", "tcp", "grpc", "exec"], BeforeValidator(_lower)] = "http"
    initial_delay_seconds: int = Field(default=10, ge=0, le=3600)
    success_threshold: int = Field(default=1, ge=1, le=100)
    failure_threshold: int = Field(default=3, ge=1, le=1000)
    port: int = Field(default=TIR_SERVING_PORT, ge=1, le=65535)
    period_seconds: int = Field(default=10, ge=1, le=3600)
    timeout_seconds: int = Field(default=10, ge=1, le=600)
    path: Line = ""
    grpc_service: Line = ""
    commands: Text = ""


class AdvanceConfigIn(TirModel):
    # TIR offers Always and IfNotPresent; Never is Modelport's (the image must be there).
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "Always"
    is_readiness_probe_enabled: bool = False
    is_liveness_probe_enabled: bool = False
    readiness_probe: ProbeIn = Field(default_factory=lambda: ProbeIn(path="/health"))
    liveness_probe: ProbeIn = Field(default_factory=lambda: ProbeIn(path="/metrics"))


class PrivateImageDetailsIn(TirModel):
    """Only the registry namespace id is kept: the id of a Modelport integration of kind
    registry, whose login pulls the image. Credentials never go into a stored field."""

    registry_namespace_id: Reference = None


class ContainerIn(TirModel):
    container_name: Line = ""  # the image; TIR fills it from the framework when empty
    container_type: Annotated[Literal["public", "private"], BeforeValidator(_lower)] = "public"
    private_image_details: PrivateImageDetailsIn = Field(default_factory=PrivateImageDetailsIn)
    advance_config: AdvanceConfigIn = Field(default_factory=AdvanceConfigIn)


class EnvDisabledIn(TirModel):
    """TIR's UI hint: which of key / value the user may not edit. Not "leave the variable out"."""

    key: bool = False
    value: bool = False


class EnvVariableIn(TirModel):
    key: str = ""
    value: str = ""
    required: bool = False
    disabled: EnvDisabledIn = Field(default_factory=EnvDisabledIn)
    # Modelport's addition: mark a variable secret (encrypted at rest, never shown). Names that
    # look like credentials (HF_TOKEN, *_API_KEY, *_PASSWORD, ...) are secret without it.
    secret: bool = Field(default=False, validation_alias=AliasChoices("secret", "is_secret"))


class ResourceDetailsIn(TirModel):
    disk_size: int = Field(default=100, ge=1, le=100_000)  # GB
    mount_path: Line = ""
    env_variables: list[EnvVariableIn] = Field(default_factory=list, max_length=500)


class CustomEndpointDetailsIn(TirModel):
    service_port: bool = False
    metric_port: bool = False
    container: ContainerIn = Field(default_factory=ContainerIn)
    resource_details: ResourceDetailsIn = Field(default_factory=ResourceDetailsIn)
    public_ip: Annotated[Literal["yes", "no"], BeforeValidator(_lower)] = "no"


_METRICS = {
    "cpu": "cpu",
    "concurrency": "concurrency",
    "requestrate": "requestRate",
    "request_rate": "requestRate",
}


class ScaleRuleIn(TirModel):
    """One `auto_scale_policy.rules` entry (seed 004: concurrency, requestRate or custom; the
    e2enetworks SDK's default is cpu)."""

    metric: Literal["", "cpu", "concurrency", "requestRate", "custom"] = ""
    condition_type: Literal["limit"] = "limit"
    value: float = Field(default=10, gt=0, le=1_000_000)
    watch_period: int = Field(default=60, ge=1, le=86400)
    granularity: int = Field(default=1, ge=1, le=3600)
    window: int = Field(default=1, ge=1, le=86400)
    custom_metric_name: Line = ""

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, value: Any) -> Any:
        if isinstance(value, str):
            return _METRICS.get(value.strip().lower(), value.strip())
        return value

    @model_validator(mode="after")
    def _custom_needs_name(self) -> ScaleRuleIn:
        if self.metric == "custom" and not self.custom_metric_name.strip():
            raise ValueError("custom_metric_name: required when metric is 'custom'")
        return self


class AutoScalePolicyIn(TirModel):
    min_replicas: int = Field(
        default=1, ge=0, le=1000, validation_alias=AliasChoices("min_replicas", "min_replica")
    )
    max_replicas: int = Field(
        default=1, ge=0, le=1000, validation_alias=AliasChoices("max_replicas", "max_replica")
    )
    stability_period: int = Field(default=300, ge=0, le=86400)  # seconds
    # No scale-down this long after the endpoint started (AutoscalePolicy.initial_cooldown_seconds);
    # the e2enetworks SDK's upscale/downscale helpers read it and send it back.
    initial_cooldown_period: int = Field(default=0, ge=0, le=86400)  # seconds
    rules: list[ScaleRuleIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _bounds(self) -> AutoScalePolicyIn:
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas: must be >= min_replicas")
        return self


class DetailedInfoIn(TirModel):
    commands: Text = ""  # a JSON list, a command line, or either base64-encoded (Terraform)
    args: Text = ""
    hugging_face_id: Line = ""
    tokenizer: Line = ""
    server_version: Line = ""
    world_size: int = Field(default=1, ge=1, le=1024)
    error_log: bool = True
    info_log: bool = True
    warning_log: bool = True
    log_verbose_level: int = Field(default=1, ge=0, le=10)
    model_serve_type: Literal["", "full-model", "peft-model"] = ""
    engine_args: dict[str, Any] = Field(default_factory=dict, max_length=200)

    @field_validator("engine_args")
    @classmethod
    def _scalars(cls, value: dict[str, Any]) -> dict[str, EngineArg]:
        for key, item in value.items():
            if item is not None and not isinstance(item, str | int | float | bool):
                raise ValueError(f"{key}: must be a string, number, boolean or null")
        return value


class CustomSkuIn(TirModel):
    """A private cluster's replica shape: vCPUs, GPUs and memory in GB."""

    cpu: float = Field(gt=0, le=1024)
    gpu: int = Field(default=0, ge=0, le=64)
    memory: float = Field(gt=0, le=16384)


class EndpointRequest(TirModel):
    """The create body (seed 000) with every attribute of the Terraform resource (seed 001)."""

    name: str = Field(min_length=1, max_length=128)
    path: Line = ""  # the model's path (Terraform: model_path)
    custom_endpoint_details: CustomEndpointDetailsIn
    # A model in Modelport's model repository, by id (TIR's integer) or name.
    model_id: Reference = None
    replica: int = Field(ge=0, le=1000)
    committed_replicas: int = Field(default=0, ge=0, le=1000)
    framework: str = Field(min_length=1, max_length=100)
    is_auto_scale_enabled: bool
    # The e2enetworks SDK leaves the policy out while autoscaling is off.
    auto_scale_policy: AutoScalePolicyIn = Field(default_factory=AutoScalePolicyIn)
    detailed_info: DetailedInfoIn
    # Seed 000 sends it (null when unused), Terraform null, the e2enetworks SDK not at all.
    # The integration (Hugging Face token, S3 keys) whose credential fetches the model.
    model_load_integration_id: Reference = None
    dataset_id: Annotated[int | str | None, BeforeValidator(_empty_is_none)] = None
    dataset_path: str = ""
    cluster_type: ClusterType = "tir-cluster"
    sku_id: OptionalId = None
    sku_item_price_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    sku_name: str | None = Field(default=None, max_length=100)
    sku_type: Annotated[Literal["hourly", "committed"] | None, BeforeValidator(_lower)] = None
    committed_days: int | None = Field(default=None, ge=0, le=3650)
    committed_instance_policy: str = ""
    next_sku_item_price_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    currency: Annotated[Literal["INR", "USD"] | None, BeforeValidator(_upper)] = None
    location: str | None = Field(default=None, max_length=100)  # Terraform sends it here
    storage_type: Annotated[Literal["disk", "sfs"], BeforeValidator(_lower)] = "disk"
    disk_path: Line = DEFAULT_DISK_PATH
    sfs_id: OptionalId = None
    sfs_path: str = ""
    private_cloud_id: OptionalId = None
    custom_sku: CustomSkuIn | None = None
    # Modelport's addition: where the replicas run. None: an image-only custom container runs
    # on docker, anything else on the location's runtime (the plan catalog's locations).
    runtime: Annotated[RuntimeKind | None, BeforeValidator(_lower)] = None

    @model_validator(mode="before")
    @classmethod
    def _terraform_attributes(cls, data: Any) -> Any:
        return terraform.nest(data)

    @model_validator(mode="before")
    @classmethod
    def _world_size_in_detailed_info(cls, data: Any) -> Any:
        """The e2enetworks SDK sends `world_size` at the top level; TIR's API and Terraform in
        `detailed_info`. One place is kept: detailed_info."""
        if not isinstance(data, dict) or "world_size" not in data:
            return data
        data = dict(data)
        given = data.pop("world_size")
        info = data.get("detailed_info")
        if not isinstance(info, dict):
            return data  # missing or malformed: its own error says so
        if "world_size" in info and info["world_size"] != given:
            raise ValueError("world_size: differs from detailed_info.world_size; send one of them")
        data["detailed_info"] = {**info, "world_size": given}
        return data


Action = Literal[
    "patch",
    "update",
    "restart",
    "stop",
    "start",
    "update_auto_scale",
    "update_async_configuration",
    "disable_auto_scale",
]


# The e2enetworks SDK's date filters for listing async requests (constants.DATE_FILTER_TYPES).
DateFilter = Literal["last_hour", "last_24_hours", "last_7_days", "current_month", "previous_month"]


class AsyncRouteIn(TirModel):
    route_name: Line = Field(min_length=1, max_length=200)
    route_value: Line = Field(min_length=1, max_length=2000)


class UpdateRequest(RequestModel):
    """The PUT body (seed 004). Endpoint fields of a patch are kept as given (`model_extra`) and
    validated once merged into the endpoint's current configuration."""

    model_config = ConfigDict(extra="allow")

    action: Action = "patch"
    replicas: int | None = Field(default=None, ge=0, le=1000)  # disable_auto_scale's count
    async_enabled: bool | None = None
    async_concurrent_workers: int | None = Field(default=None, ge=1, le=1024)
    async_dataset_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    async_destination_type: Literal["dataset"] | None = None
    async_target_routes: list[AsyncRouteIn] | None = Field(default=None, max_length=100)

    def endpoint_fields(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
