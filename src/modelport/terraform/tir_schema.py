"""`tir_model_endpoint`'s schema as data: one row per attribute of seed 001 (Required / Optional /
Read-Only exactly as the seed documents them, descriptions from the seed) with TIR's Go
provider's defaults. An Optional attribute with a default is Optional+Computed: the plan puts the
default there whenever the configuration leaves it unset (create and update, nested blocks too),
as the Go SDK's `Default` does."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from modelport.terraform.tfcompat import (
    Attribute,
    Block,
    Bool,
    ListBlock,
    Map,
    Number,
    Schema,
    String,
    Unknown,
)


class Kind(Enum):
    STR = "string"
    NUM = "number"
    BOOL = "bool"
    MAP_STR = "map of string"
    MAP_NUM = "map of number"
    MAP_BOOL = "map of bool"

    def tf_type(self) -> Any:
        return _TYPES[self]()


_TYPES = {
    Kind.STR: String,
    Kind.NUM: Number,
    Kind.BOOL: Bool,
    Kind.MAP_STR: lambda: Map(String()),
    Kind.MAP_NUM: lambda: Map(Number()),
    Kind.MAP_BOOL: lambda: Map(Bool()),
}


class Mode(Enum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    COMPUTED = "read-only"


@dataclass(frozen=True)
class Field:
    name: str
    kind: Kind
    mode: Mode
    default: Any  # None: no default (an unset Optional stays null)
    description: str
    sensitive: bool = False
    replace: bool = False  # a change forces a new endpoint

    def attribute(self) -> Attribute:
        defaulted = self.mode is Mode.OPTIONAL and self.default is not None
        return Attribute(
            self.name,
            self.kind.tf_type(),
            description=self.description,
            required=self.mode is Mode.REQUIRED,
            optional=self.mode is Mode.OPTIONAL,
            computed=defaulted or self.mode is Mode.COMPUTED,
            sensitive=self.sensitive,
            requires_replace=self.replace or None,
            default=self.default if defaulted else Unknown,
        )


@dataclass(frozen=True)
class BlockSpec:
    """A list-style nested block (`detailed_info { ... }`)."""

    name: str
    description: str
    fields: tuple[Field, ...]
    blocks: tuple[BlockSpec, ...] = ()
    max_items: int | None = None

    def list_block(self) -> ListBlock:
        block = Block(
            attributes=[f.attribute() for f in self.fields],
            block_types=[b.list_block() for b in self.blocks],
            description=self.description,
        )
        return ListBlock(self.name, block, max_items=self.max_items)

    def defaults(self) -> dict[str, Any]:
        """One element with every attribute at its default (what an absent block means)."""
        out: dict[str, Any] = {f.name: f.default for f in self.fields}
        out.update({b.name: [] for b in self.blocks})
        return out


def req(name: str, kind: Kind, description: str, replace: bool = False) -> Field:
    return Field(name, kind, Mode.REQUIRED, None, description, replace=replace)


def opt(name: str, kind: Kind, default: Any, description: str, sensitive: bool = False) -> Field:
    return Field(name, kind, Mode.OPTIONAL, default, description, sensitive=sensitive)


def out(name: str, description: str) -> Field:
    return Field(name, Kind.STR, Mode.COMPUTED, None, description)


S, N, B = Kind.STR, Kind.NUM, Kind.BOOL


def _probe(which: str, not_state: str) -> BlockSpec:
    return BlockSpec(
        f"{which}_probe",
        f"Configuration for the {which} probe.",
        (
            opt("commands", S, "", f"Commands to execute for the {which} probe."),
            opt(
                "failure_threshold",
                N,
                3,
                f"The number of failed probes before the resource is marked as {not_state}.",
            ),
            opt("grpc_service", S, "", f"The gRPC service to check for the {which} probe."),
            opt(
                "initial_delay_seconds",
                N,
                10,
                f"The initial delay (in seconds) before the {which} probe starts.",
            ),
            opt(
                "path",
                S,
                "/health" if which == "readiness" else "/metrics",
                f"The path to check for the {which} probe.",
            ),
            opt("period_seconds", N, 10, f"The period (in seconds) between {which} probe checks."),
            opt("port", N, 8080, f"The port to use for the {which} probe."),
            opt(
                "protocol",
                S,
                "http",
                f"The protocol to use for the {which} probe (e.g., http, tcp).",
            ),
            opt(
                "success_threshold",
                N,
                1,
                f"The number of successful probes required to mark the resource as {not_state.removeprefix('not ')}.",  # noqa: E501
            ),
            opt("timeout_seconds", N, 10, f"The timeout (in seconds) for the {which} probe."),
        ),
        max_items=1,
    )


RULES = BlockSpec(
    "rules",
    "The rules for auto-scaling based on metrics and conditions.",
    (
        opt("condition_type", S, "limit", "The type of condition to apply for scaling."),
        opt("custom_metric_name", S, "", "The name of a custom metric to use for scaling."),
        opt("granularity", N, 1, "The granularity of the metric data collection."),
        opt("metric", S, "", "The metric to monitor for auto-scaling"),
        opt("value", N, 10, "The threshold value for the metric to trigger scaling."),
        opt("watch_period", N, 60, "The period (in seconds) to watch the metric before scaling."),
        opt("window", N, 1, "The time window (in seconds) for evaluating the metric."),
    ),
)
AUTO_SCALE_POLICY = BlockSpec(
    "auto_scale_policy",
    "The policy for auto-scaling the resource. This includes min/max replicas and scaling rules.",
    (
        opt(
            "max_replicas",
            N,
            1,
            "The maximum number of replicas to scale up to during auto-scaling.",
        ),
        opt(
            "min_replicas", N, 1, "The minimum number of replicas to maintain during auto-scaling."
        ),
        opt(
            "stability_period",
            N,
            300,
            "The period (in seconds) to wait after scaling before scaling again.",
        ),
    ),
    (RULES,),
    max_items=1,
)
DETAILED_INFO = BlockSpec(
    "detailed_info",
    "Detailed information about the resource, including commands, args, and logging settings.",
    (
        opt("args", S, "", "Arguments to pass to the commands when the resource is deployed."),
        opt("commands", S, "", "Commands to execute when the resource is deployed."),
        opt(
            "engine_args", Kind.MAP_STR, None, "Additional engine-specific arguments for the model."
        ),
        opt("error_log", B, True, "Enable or disable error logging."),
        opt("hugging_face_id", S, "", "The Hugging Face model ID associated with the resource."),
        opt("info_log", B, True, "Enable or disable info logging."),
        opt("log_verbose_level", N, 1, "The verbosity level for logging."),
        opt("model_serve_type", S, "", "The type of model serving (e.g., real-time, batch)."),
        opt("server_version", S, "", "The version of the server being used."),
        opt("tokenizer", S, "", "The tokenizer to use for the model."),
        opt("warning_log", B, True, "Enable or disable warning logging."),
        opt("world_size", N, 1, "The world size for distributed training or inference."),
    ),
    max_items=1,
)
ENV_VARIABLES = BlockSpec(
    "env_variables",
    "Environment variables to be set for the resource.",
    (
        opt("disabled", Kind.MAP_BOOL, None, "A map of disabled environment variables."),
        opt("key", S, "", "The key for the environment variable."),
        opt("required", B, False, "Indicates whether the environment variable is required."),
        opt("value", S, "", "The value for the environment variable.", sensitive=True),
    ),
)
RESOURCE_DETAILS = BlockSpec(
    "resource_details",
    "Additional details about the resource, such as disk size, mount path, and environment "
    "variables.",
    (
        opt("disk_size", N, 100, "The size of the disk (in GB) allocated for the resource."),
        opt("mount_path", S, "", "The path where the disk is mounted."),
    ),
    (ENV_VARIABLES,),
    max_items=1,
)
ASYNC_ROUTES = BlockSpec(
    "async_target_routes",
    "Routes of the inference URL whose POSTs are queued: route_name and route_value (a path).",
    (
        opt("route_name", S, "", "The queue's name."),
        opt("route_value", S, "", "The path under the inference URL, e.g. /v1/chat/completions."),
    ),
)
ASYNC_CONFIGURATION = BlockSpec(
    "async_configuration",
    "Modelport's addition, not in TIR's provider (seed 001): async invocations, applied with "
    "TIR's PUT action update_async_configuration (docs/async.md).",
    (
        opt("async_enabled", B, False, "Queue POSTs to the target routes."),
        opt("async_concurrent_workers", N, 1, "Requests worked on at once."),
        opt("async_dataset_id", S, "", "The id of the dataset results are written to."),
        opt("async_destination_type", S, "dataset", "Where results go (dataset)."),
    ),
    (ASYNC_ROUTES,),
    max_items=1,
)
PROBES = (_probe("readiness", "not ready"), _probe("liveness", "not live"))
BLOCKS: tuple[BlockSpec, ...] = (
    AUTO_SCALE_POLICY,
    DETAILED_INFO,
    *PROBES,
    RESOURCE_DETAILS,
    ASYNC_CONFIGURATION,
)

# One row per attribute of seed 001 (the table is data: kept one row per line).
# fmt: off
FIELDS: tuple[Field, ...] = (
    req("active_iam", S, 'The IAM (Identity and Access Management) role associated with the resource.'),  # noqa: E501
    req("cluster_type", S, 'The type of cluster the resource is deployed on.'),
    req("container_type", S, 'The type of container used for the resource (e.g., public, private).'),  # noqa: E501
    req("currency", S, 'The currency used for billing the resource.'),
    req("framework", S, 'The framework used for the model. This could be TensorFlow, PyTorch, etc.'),  # noqa: E501
    req("location", S, 'The location or region where the resource is deployed.'),
    req("name", S, 'The name of the resource. This is a required field and must be unique within the project.', replace=True),  # noqa: E501
    req("project_id", S, 'The ID of the project where the resource is deployed.', replace=True),
    req("sku_name", S, 'The SKU (Stock Keeping Unit) name for the resource. This defines the type of resource being deployed.'),  # noqa: E501
    req("sku_type", S, 'The SKU type for the resource. This defines the category or classification of the SKU.'),  # noqa: E501
    req("storage_type", S, 'The type of storage used for the resource.'),
    req("team_id", S, 'The ID of the team that owns the resource.'),
    opt("committed_days", N, 0, 'The number of days the instance is committed for. This is used for billing and resource allocation.'),  # noqa: E501
    opt("committed_instance_policy", S, '', 'The policy for committed instances. This defines how committed instances are managed and billed.'),  # noqa: E501
    opt("committed_replicas", N, 0, 'The number of replicas that are committed for the resource.'),
    opt("custom_sku", Kind.MAP_NUM, None, 'A map of custom SKU configurations for the private cloud .'),  # noqa: E501
    opt("dataset_id", S, '', 'The ID of the dataset associated with the resource.'),
    opt("dataset_path", S, '', 'The path to the dataset used by the resource.'),
    opt("disk_path", S, '/mnt/models', 'The path where the disk is mounted. This is used to specify the location for model storage.'),  # noqa: E501
    opt("image_pull_policy", S, 'Always', "The policy for pulling container images. Options are 'Always' or 'IfNotPresent'."),  # noqa: E501
    opt("is_auto_scale_enabled", B, False, 'Indicates whether auto-scaling is enabled for the resource.'),  # noqa: E501
    opt("is_liveness_probe_enabled", B, False, 'Enable or disable the liveness probe for the resource.'),  # noqa: E501
    opt("is_readiness_probe_enabled", B, False, 'Enable or disable the readiness probe for the resource.'),  # noqa: E501
    opt("metric_port", B, False, 'Indicates whether a metric port is exposed for the resource.'),
    opt("model_id", S, '', 'The unique identifier for the model. This is used to reference the model in the system.'),  # noqa: E501
    opt("model_load_integration_id", S, '', 'The integration ID used for loading the model. This is typically used for custom model loading workflows.'),  # noqa: E501
    opt("model_path", S, '', 'The path to the model file or directory. This is used to specify the location of the model to be deployed.'),  # noqa: E501
    opt("private_cloud_id", S, '', 'The ID of the private cloud where the resource is deployed.'),
    opt("public_ip", S, 'no', 'Indicates whether a public IP address is assigned to the resource.'),
    opt("replica", N, 1, 'The number of replicas to deploy for the resource.'),
    opt("server_options", S, '', 'Specifies the server options for the resource. This is typically used for server types like TRITON, PYTORCH, NEMO, and TENSOR RT.'),  # noqa: E501
    opt("service_port", B, False, 'Indicates whether a service port is exposed for the resource.'),
    opt("sfs_id", S, '', 'The ID of the shared file storage. This is used to reference the shared storage resource.'),  # noqa: E501
    opt("sfs_path", S, '/shared/.cache', 'The path for shared file storage. This is used for caching and shared resources.'),  # noqa: E501
    opt("stop_inference", S, 'start', "Indicates whether to stop or start inference for the resource. Default is 'start'."),  # noqa: E501
    out("container_name", 'The name of the container associated with the resource. This is computed automatically.'),  # noqa: E501
    out("created_at", 'The timestamp when the resource was created. This is computed automatically.'),  # noqa: E501
    out("id", 'The ID of this resource.'),
    out("status", 'The current status of the resource. This is computed automatically.'),
)
# fmt: on
BY_NAME = {f.name: f for f in FIELDS}
# Attributes only the provider uses (in URLs, or not sent at all by TIR's provider): a change of
# these alone makes no API call.
CLIENT_SIDE = frozenset({"team_id", "active_iam", "server_options"})
PULL_POLICIES = ("Always", "IfNotPresent")
STOP, START = "stop", "start"


def schema() -> Schema:
    return Schema(
        version=0,
        attributes=[f.attribute() for f in FIELDS],
        block_types=[b.list_block() for b in BLOCKS],
    )


def with_defaults(planned: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """`planned` with every Optional attribute the configuration leaves unset at its default,
    top level and in every block element the configuration has."""
    out = dict(planned)
    _fill(out, config, FIELDS)
    for spec in BLOCKS:
        out[spec.name] = _fill_block(spec, planned.get(spec.name), config.get(spec.name))
    return out


def _fill(values: dict[str, Any], config: dict[str, Any], fields: tuple[Field, ...]) -> None:
    for f in fields:
        if f.mode is Mode.OPTIONAL and f.default is not None and config.get(f.name) is None:
            values[f.name] = f.default


def _fill_block(spec: BlockSpec, planned: Any, config: Any) -> Any:
    if not isinstance(planned, list):
        return planned  # Unknown (a dynamic block) or absent
    configured = config if isinstance(config, list) else []
    filled = []
    for i, element in enumerate(planned):
        given = configured[i] if i < len(configured) and isinstance(configured[i], dict) else {}
        item = dict(element)
        _fill(item, given, spec.fields)
        for inner in spec.blocks:
            item[inner.name] = _fill_block(inner, element.get(inner.name), given.get(inner.name))
        filled.append(item)
    return filled
