"""The endpoint spec: what a user asks for, independent of any API dialect or runtime.

Every dialect (native, TIR, DeepInfra, Tensormesh) translates into these models. They are pure
data with validation; nothing here touches storage, processes or the network.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from modelport.domain.credentials import looks_like_credential
from modelport.domain.ids import validate_env_name
from modelport.domain.numbers import RequestModel
from modelport.domain.text import Line, Text, check_text

EngineArgValue = str | int | float | bool


class Framework(StrEnum):
    """The engine that serves an endpoint's replicas."""

    LLAMACPP = "llamacpp"  # llama-cpp-python's OpenAI-compatible server over a GGUF file
    CUSTOM = "custom"  # any command; listens on {port} / $PORT
    VLLM = "vllm"  # vLLM OpenAI server
    SGLANG = "sglang"  # SGLang server
    DYNAMO = "dynamo"  # NVIDIA Dynamo frontend + workers
    TRITON = "triton"  # NVIDIA Triton Inference Server
    TORCHSERVE = "torchserve"  # PyTorch TorchServe
    TENSORRT = "tensorrt"  # TensorRT-LLM (trtllm-serve)


class RuntimeKind(StrEnum):
    """Where an endpoint's replicas run (runtime/: one backend per kind)."""

    LOCAL = "local"  # processes on the server's host
    DOCKER = "docker"  # containers on a Docker daemon (runtime/docker.py)
    RAY = "ray"  # actors on a Ray cluster


class PullPolicy(StrEnum):
    """When a container runtime pulls the image (TIR's image_pull_policy)."""

    ALWAYS = "Always"  # pull before every start (a moved tag is picked up)
    IF_NOT_PRESENT = "IfNotPresent"  # pull only when the daemon lacks the image
    NEVER = "Never"  # never pull; the image must already be there


class ProbeProtocol(StrEnum):
    """How a probe talks to a replica."""

    HTTP = "http"  # GET path, 2xx/3xx is success
    TCP = "tcp"  # a TCP connect is success
    GRPC = "grpc"  # grpc.health.v1 Check of grpc_service ("" = server): SERVING is success
    EXEC = "exec"  # run `commands`; exit 0 is success


class ProbeSpec(RequestModel):
    """A readiness or liveness probe; fields follow TIR's Terraform probe block (seed 001)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    protocol: ProbeProtocol = ProbeProtocol.HTTP
    path: Line | None = None  # None: the engine's own health route
    port: int | None = Field(default=None, ge=1, le=65535)  # None: the replica's serving port
    commands: list[Text] = Field(default_factory=list)
    grpc_service: Line | None = None
    initial_delay_seconds: float = Field(default=0.0, ge=0, le=3600)
    period_seconds: float = Field(default=2.0, gt=0, le=3600)
    timeout_seconds: float = Field(default=2.0, gt=0, le=600)
    success_threshold: int = Field(default=1, ge=1, le=100)
    failure_threshold: int = Field(default=3, ge=1, le=1000)

    @model_validator(mode="after")
    def _protocol_needs(self) -> ProbeSpec:
        if self.protocol is ProbeProtocol.EXEC and not self.commands:
            raise ValueError("commands: an exec probe needs at least one command")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError("path: must start with '/'")
        return self


class ModelSource(RequestModel):
    """Where the weights come from. At most one of hf_id, path, image, model_id is the source."""

    model_config = ConfigDict(extra="forbid")

    hf_id: Line | None = None  # Hugging Face repo id, e.g. "HuggingFaceTB/SmolLM2-135M-Instruct"
    revision: Line | None = None
    path: Line | None = None  # a local file or directory (uploaded files land here)
    image: Line | None = None  # a container image (custom containers)
    model_id: Line | None = None  # a model registered in Modelport's model repository
    tokenizer: Line | None = None
    serve_type: Line | None = None  # "full-model" or "peft-model" (vLLM)
    # An integration (name or id) whose credential fetches the model: a Hugging Face token for
    # hf_id, S3 keys for an object-store URL (TIR's model_load_integration_id).
    integration: Line | None = None
    # An integration holding a registry login for a private `image` (TIR's
    # private_image_details.registry_namespace_id).
    registry_integration: Line | None = None


class EnvVar(RequestModel):
    """An environment variable for the engine. Secret values are encrypted at rest, never shown.
    A credential-like name (HF_TOKEN, *_API_KEY, *PASSWORD*, ...) is secret whatever `secret`
    says: domain/credentials.py has the one rule every API shares."""

    model_config = ConfigDict(extra="forbid")

    name: str
    value: Text = ""
    secret: bool = False
    required: bool = False
    disabled: bool = False  # kept in the spec but not passed to the engine

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return validate_env_name(v)

    @model_validator(mode="after")
    def _credentials_are_secret(self) -> EnvVar:
        if not self.secret and looks_like_credential(self.name):
            self.secret = True
        return self


class Mount(RequestModel):
    """A disk or shared path made available to replicas."""

    model_config = ConfigDict(extra="forbid")

    path: Line  # where the replica sees it
    source: Line | None = None  # host path or volume; None: a per-endpoint scratch dir
    size_gb: int | None = Field(default=None, ge=1, le=100_000)
    read_only: bool = False


class Resources(RequestModel):
    """What one replica needs from its host."""

    model_config = ConfigDict(extra="forbid")

    cpu: float = Field(default=1.0, gt=0, le=1024)  # cores
    memory_mb: int = Field(default=1024, ge=64, le=16 * 1024 * 1024)
    gpu_count: int = Field(default=0, ge=0, le=64)
    gpu_type: Line | None = None  # e.g. "H100-80GB"; None: any
    disk_gb: int | None = Field(default=None, ge=1, le=100_000)
    # A model larger than one node: the replica spans this many nodes (vLLM / SGLang on Ray),
    # the resources above split evenly over them (gpu_count / nodes GPUs on each).
    nodes: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _gpu_type_needs_gpu(self) -> Resources:
        if self.gpu_type is not None and self.gpu_count == 0:
            raise ValueError("gpu_count: must be at least 1 when gpu_type is set")
        if self.nodes > 1 and (self.gpu_count == 0 or self.gpu_count % self.nodes):
            raise ValueError(
                f"gpu_count: a replica across {self.nodes} nodes needs the same number of GPUs "
                f"on each: a multiple of {self.nodes}"
            )
        return self


class ScaleMetric(StrEnum):
    """What an autoscaling rule watches."""

    CONCURRENCY = "concurrency"  # in-flight requests per replica
    REQUEST_RATE = "request_rate"  # requests per second per replica
    CUSTOM = "custom"  # an engine metric named by custom_metric_name
    CPU = "cpu"  # CPU use per replica, percent of its cores (E2E TIR's default metric)


class ScaleRule(RequestModel):
    """One autoscaling rule; fields follow TIR's auto_scale_policy.rules."""

    model_config = ConfigDict(extra="forbid")

    metric: ScaleMetric
    value: float = Field(gt=0)  # target per replica
    custom_metric_name: Line | None = None
    condition_type: Line = "limit"
    window_seconds: float = Field(default=60, gt=0, le=86400)
    watch_period_seconds: float = Field(default=60, gt=0, le=86400)
    granularity_seconds: float = Field(default=5, gt=0, le=3600)

    @model_validator(mode="after")
    def _custom_needs_name(self) -> ScaleRule:
        if self.metric is ScaleMetric.CUSTOM and not self.custom_metric_name:
            raise ValueError("custom_metric_name: required when metric is 'custom'")
        return self


class AutoscalePolicy(RequestModel):
    """Scale replicas between min and max by the rules, acted on by the controller's autoscaler
    (controller/autoscale.py, autoscaler/policy.py; docs/autoscaling.md says what each field
    does)."""

    # populate_by_name: the aliases below are extra spellings, the field names stay valid.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enabled: bool = False
    # TIR's Terraform provider sends the singular spelling.
    min_replicas: int = Field(
        default=1, ge=0, le=1000, validation_alias=AliasChoices("min_replicas", "min_replica")
    )
    max_replicas: int = Field(
        default=1, ge=0, le=1000, validation_alias=AliasChoices("max_replicas", "max_replica")
    )
    stability_period_seconds: float = Field(default=300, ge=0, le=86400)
    # No scale-down (nor idling to zero) this long after the endpoint started (TIR's
    # initial_cooldown_period).
    initial_cooldown_seconds: float = Field(default=0, ge=0, le=86400)
    # With min_replicas 0: no traffic for this long takes the endpoint to zero replicas.
    idle_timeout_seconds: float = Field(default=300, ge=1, le=86400)
    rules: list[ScaleRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bounds(self) -> AutoscalePolicy:
        if self.max_replicas < self.min_replicas:
            raise ValueError("max_replicas: must be >= min_replicas")
        return self


class AsyncTargetRoute(RequestModel):
    model_config = ConfigDict(extra="forbid")

    route_name: Line
    route_value: Line


class PlanChoice(RequestModel):
    """The plan an endpoint's replicas are billed at: one price of the operator's plan catalog
    (`GET /api/v1/catalog` lists them), charged per replica-hour in usage (docs/usage.md)."""

    sku_item_price_id: int = Field(ge=1)


class AsyncConfig(RequestModel):
    """Queued (async) invocations: intake at the gateway, workers in invocations/, results in
    the dataset `dataset_id` names (docs/async.md)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    concurrent_workers: int = Field(default=1, ge=1, le=1024)
    dataset_id: Line | None = None
    destination_type: Line = "dataset"
    target_routes: list[AsyncTargetRoute] = Field(default_factory=list)


class LogOptions(RequestModel):
    model_config = ConfigDict(extra="forbid")

    error: bool = True
    info: bool = True
    warning: bool = True
    verbose_level: int = Field(default=1, ge=0, le=10)


class EndpointSpec(RequestModel):
    """Everything needed to run an endpoint. Immutable: a patch yields a new spec (records
    read from the store may share one parsed spec, store/rows.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    framework: Framework
    model: ModelSource = Field(default_factory=ModelSource)
    command: list[Text] = Field(default_factory=list)  # custom: argv, may contain "{port}"
    # Values under credential-like keys (api_key, hf_token, ...) are secret, as env secrets are.
    engine_args: dict[Line, EngineArgValue] = Field(default_factory=dict)
    extra_args: list[Text] = Field(default_factory=list)  # appended verbatim to the engine argv
    env: list[EnvVar] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)
    replicas: Annotated[int, Field(ge=0, le=1000)] = 1
    autoscale: AutoscalePolicy = Field(default_factory=AutoscalePolicy)
    readiness: ProbeSpec | None = None  # None: the engine's default readiness probe
    liveness: ProbeSpec | None = None  # None: the engine's default liveness probe
    mounts: list[Mount] = Field(default_factory=list)
    max_concurrency: int | None = Field(default=None, ge=1, le=100_000)  # per replica
    server_version: Line | None = None
    world_size: int = Field(default=1, ge=1, le=1024)
    logging: LogOptions = Field(default_factory=LogOptions)
    async_config: AsyncConfig = Field(default_factory=AsyncConfig)
    image_pull_policy: PullPolicy | None = None  # None: IfNotPresent
    runtime: RuntimeKind | None = None  # None: the location's runtime, else the server's default
    plan: PlanChoice | None = None  # None: no plan (dialect plans are in their extension)
    description: Text | None = Field(default=None, max_length=2000)
    labels: dict[Line, Line] = Field(default_factory=dict)
    extensions: dict[str, Any] = Field(default_factory=dict)  # dialect fields kept verbatim

    @field_validator("engine_args")
    @classmethod
    def _engine_args(cls, args: dict[str, EngineArgValue]) -> dict[str, EngineArgValue]:
        """String values without control characters; secret values as strings (they are sealed
        as text, and an int key would compare unequal to its unsealed string)."""
        for key, value in args.items():
            if isinstance(value, str):
                try:
                    check_text(value)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        return {
            key: str(value) if is_secret_engine_arg(key, value) else value
            for key, value in args.items()
        }

    @model_validator(mode="after")
    def _framework_needs(self) -> EndpointSpec:
        if self.framework is Framework.CUSTOM and not self.command and not self.model.image:
            raise ValueError("command: a custom endpoint needs a command (or model.image)")
        source = self.model.path or self.model.hf_id or self.model.model_id
        if self.framework is Framework.LLAMACPP and not source:
            raise ValueError(
                "model.path: a llamacpp endpoint needs a GGUF file: a path, a model of the "
                "repository (model.model_id) or a Hugging Face repo (model.hf_id)"
            )
        names = [e.name for e in self.env]
        if len(names) != len(set(names)):
            raise ValueError("env: variable names must be unique")
        return self

    @model_validator(mode="after")
    def _world_size_spans_the_nodes(self) -> EndpointSpec:
        # Across nodes the engines' ranks are every GPU of the replica (tensor parallel in a
        # node, pipeline across them: engines/multinode.py); another world_size cannot run.
        gpus, nodes = self.resources.gpu_count, self.resources.nodes
        if nodes > 1 and self.world_size > 1 and self.world_size != gpus:
            raise ValueError(
                f"world_size: a replica across {nodes} nodes with {gpus} GPUs runs one rank "
                f"per GPU ({gpus // nodes} on each node): set world_size to {gpus}, or leave it "
                "at 1"
            )
        return self

    def replica_template(self) -> EndpointSpec:
        """What a replica runs: the spec less the fields that only say how many replicas run
        or how the platform treats them. Two specs with equal templates need no rollout."""
        fields = EndpointSpec.model_fields
        defaults = {f: fields[f].get_default(call_default_factory=True) for f in _NOT_TEMPLATE}
        return self.model_copy(update=defaults)

    def with_changes(self, changes: dict[str, Any]) -> EndpointSpec:
        """A new, re-validated spec with top-level fields replaced (nested dicts merged)."""
        merged = _deep_merge(self.model_dump(mode="json"), changes)
        return EndpointSpec.model_validate(merged)


def is_secret_engine_arg(key: str, value: EngineArgValue) -> bool:
    """An engine argument whose key names a credential (api_key, hf_token, password, ...);
    a boolean is a switch (use_auth_token: true), not a credential."""
    return not isinstance(value, bool) and looks_like_credential(key)


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key not in _REPLACED:
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


# Scale, scheduling and bookkeeping fields: changing them never replaces a running replica.
_NOT_TEMPLATE = (
    "replicas", "autoscale", "async_config", "labels", "description", "extensions", "plan",
)  # fmt: skip

# Maps whose keys are user data: a patch replaces them whole, so a key can be removed.
_REPLACED = frozenset({"engine_args", "labels", "extensions"})
