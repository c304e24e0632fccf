"""DeepInfra deploy requests to EndpointSpecs and endpoints back to DeepInfra's deploy objects.

What only DeepInfra needs (its model_name, deploy_id and the config as sent) is kept in
`spec.extensions["deepinfra"]`; everything that runs is in the spec's own fields.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from modelport.dialects.deepinfra.schemas import (
    DeployLLMConfig,
    DeployLLMIn,
    DeployOut,
    DeployType,
    DeployWeights,
    GpuType,
    ScaleSettingsOut,
)
from modelport.dialects.deepinfra.statuses import condition
from modelport.domain import dialects
from modelport.domain.errors import InvalidSpec
from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import (
    AutoscalePolicy,
    EndpointSpec,
    EngineArgValue,
    EnvVar,
    Framework,
    ModelSource,
    Resources,
    ScaleMetric,
    ScaleRule,
)
from modelport.domain.states import EndpointPhase
from modelport.services.validation import invalid_spec

EXTENSION = dialects.DEEPINFRA.name
TASK = "text-generation"
HF_TOKEN_ENV = "HF_TOKEN"  # noqa: S105 - the variable's name, not a secret
DEPLOY_ID_LENGTH = 10
_DEPLOY_ID_ALPHABET = string.ascii_lowercase + string.digits
_DEPLOY_ID = re.compile(rf"^[a-z0-9]{{{DEPLOY_ID_LENGTH}}}$")
_CLEAN_PART = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_NOT_LABEL = re.compile(r"[^a-z0-9-]+")
_MAX_LABEL = 63
_HASH_CHARS = 6

# Config fields in DeepInfra's spelling, as stored in the extension (for comparisons).
CONFIG_FIELDS = ("gpu", "num_gpus", "max_batch_size", "hf.repo", "hf.revision", "base_model")


def new_deploy_id() -> str:
    """An opaque id like DeepInfra's: 10 lowercase letters and digits."""
    return "".join(secrets.choice(_DEPLOY_ID_ALPHABET) for _ in range(DEPLOY_ID_LENGTH))


def looks_like_deploy_id(value: str) -> bool:
    return bool(_DEPLOY_ID.match(value))


def endpoint_name(model_name: str) -> str:
    """The Modelport endpoint name (a DNS label) for a DeepInfra model_name.

    "owner/model" becomes "owner--model" when both parts are already lowercase DNS-label text
    and the result fits in 63 characters. Any other name is lowercased, runs of other
    characters become "-", and a 6-hex-digit hash of the exact model_name is appended, so
    two model names never share an endpoint name.
    """
    owner, _, model = model_name.partition("/")
    if _CLEAN_PART.match(owner) and _CLEAN_PART.match(model):
        clean = f"{owner}--{model}"
        if len(clean) <= _MAX_LABEL:
            return clean
    digest = hashlib.sha256(model_name.encode()).hexdigest()[:_HASH_CHARS]
    slug = _NOT_LABEL.sub("-", model_name.lower().replace("/", "--")).strip("-")
    slug = slug[: _MAX_LABEL - _HASH_CHARS - 1].rstrip("-")
    return f"{slug}-{digest}"


def is_local_gguf(repo: str) -> bool:
    """hf.repo naming a file on this host (an absolute path): served by llama.cpp."""
    return repo.startswith("/")


def to_spec(request: DeployLLMIn, deploy_id: str) -> EndpointSpec:
    """The spec a deploy request asks for (settings included); InvalidSpec naming the spec
    field (the error handler names the DeepInfra field it came from) for a value the spec
    refuses."""
    try:
        return _to_spec(request, deploy_id)
    except ValidationError as exc:
        raise invalid_spec(exc) from exc


def _to_spec(request: DeployLLMIn, deploy_id: str) -> EndpointSpec:
    repo = request.hf.repo if request.hf else None
    revision = request.hf.revision if request.hf else None
    token = request.hf.token if request.hf else None
    any_gpu = request.gpu is GpuType.OTHER
    engine_args: dict[str, EngineArgValue] = {}
    if repo is not None and is_local_gguf(repo):
        if not repo.lower().endswith(".gguf"):
            raise InvalidSpec(
                "hf.repo: a local path must name a .gguf file (served by llama.cpp); "
                "anything else is a Hugging Face repo id such as 'owner/model'",
                field="hf.repo",
            )
        framework = Framework.LLAMACPP
        model = ModelSource(path=repo)
        # A GGUF needs no GPU: with gpu "other" it runs on CPU; with a named GPU type the
        # GPUs are reserved and every layer is offloaded to them.
        gpu_count = 0 if any_gpu else request.num_gpus
        if gpu_count:
            engine_args["n_gpu_layers"] = -1
    else:
        framework = Framework.VLLM
        source = repo or request.base_model or request.model_name
        model = ModelSource(hf_id=source, revision=revision)
        gpu_count = request.num_gpus
    env = [EnvVar(name=HF_TOKEN_ENV, value=token, secret=True)] if token else []
    return EndpointSpec(
        framework=framework,
        model=model,
        engine_args=engine_args,
        extra_args=list(request.extra_args or []),
        env=env,
        resources=Resources(
            gpu_count=gpu_count, gpu_type=None if any_gpu or not gpu_count else request.gpu.value
        ),
        max_concurrency=request.max_batch_size,
        description=f"DeepInfra deployment {request.model_name}",
        labels={"modelport.dialect": EXTENSION},
        extensions={EXTENSION: extension(request, deploy_id)},
        replicas=max(request.settings.min_instances, 1),
        autoscale=AutoscalePolicy(
            rules=[ScaleRule(metric=ScaleMetric.CONCURRENCY, value=request.max_batch_size)],
            **scale_bounds(request.settings.min_instances, request.settings.max_instances),
        ),
    )


def extension(request: DeployLLMIn, deploy_id: str) -> dict[str, Any]:
    """What DeepInfra answers need and the spec does not hold: never the token."""
    weights = {"repo": request.hf.repo, "revision": request.hf.revision} if request.hf else None
    return {
        "model_name": request.model_name,
        "deploy_id": deploy_id,
        "type": DeployType.LLM.value,
        "task": TASK,
        "config": {
            "gpu": request.gpu.value,
            "num_gpus": request.num_gpus,
            "max_batch_size": request.max_batch_size,
            "weights": weights,
        },
        "base_model": request.base_model,
        "extra_args": request.extra_args,
    }


def scale_bounds(min_instances: int, max_instances: int) -> dict[str, Any]:
    """Settings as spec.autoscale fields: min < max enables autoscaling between them. A deploy
    adds one rule, concurrency with max_batch_size per instance as the target (an instance is
    full when its batch is), so load between min and max adds instances; an update changes
    only these fields, keeping the rule and what the native API set (e.g. the idle timeout)."""
    return {
        "enabled": min_instances < max_instances,
        "min_replicas": min_instances,
        "max_replicas": max_instances,
    }


def scale_changes(min_instances: int, max_instances: int) -> dict[str, Any]:
    """A spec patch for new settings: replicas start at max(min, 1), autoscale merged."""
    return {
        "replicas": max(min_instances, 1),
        "autoscale": scale_bounds(min_instances, max_instances),
    }


def settings_of(spec: EndpointSpec) -> ScaleSettingsOut:
    """Settings read back from the spec (so native changes to replicas show here too)."""
    if spec.autoscale.enabled:
        return ScaleSettingsOut(
            min_instances=spec.autoscale.min_replicas, max_instances=spec.autoscale.max_replicas
        )
    return ScaleSettingsOut(min_instances=spec.replicas, max_instances=spec.replicas)


def ext_of(spec: EndpointSpec) -> dict[str, Any] | None:
    """The DeepInfra extension of a spec, or None for endpoints DeepInfra did not create."""
    ext = spec.extensions.get(EXTENSION)
    if not isinstance(ext, dict):
        return None
    if not isinstance(ext.get("deploy_id"), str) or not isinstance(ext.get("model_name"), str):
        return None
    return ext


def stored_config(ext: dict[str, Any]) -> dict[str, Any]:
    """The config as deployed, flattened to DeepInfra field paths (see CONFIG_FIELDS)."""
    config = ext.get("config") or {}
    weights = config.get("weights") or {}
    return {
        "gpu": config.get("gpu"),
        "num_gpus": config.get("num_gpus"),
        "max_batch_size": config.get("max_batch_size"),
        "hf.repo": weights.get("repo"),
        "hf.revision": weights.get("revision"),
        "base_model": ext.get("base_model"),
        "extra_args": ext.get("extra_args"),
        "model_name": ext.get("model_name"),
    }


def requested_config(request: DeployLLMIn) -> dict[str, Any]:
    return stored_config(extension(request, ""))


def to_out(endpoint: Endpoint, phase: EndpointPhase, replicas: Sequence[Replica]) -> DeployOut:
    ext = ext_of(endpoint.spec)
    assert ext is not None, "only DeepInfra endpoints are shown here"
    config = ext.get("config") or {}
    weights = config.get("weights")
    state = condition(phase, replicas, endpoint.wanted_replicas)
    return DeployOut(
        deploy_id=ext["deploy_id"],
        model_name=ext["model_name"],
        version=(weights or {}).get("revision") or "",
        task=str(ext.get("task") or TASK),
        status=state.status,
        fail_reason=state.fail_reason,
        created_at=iso(endpoint.created_at),
        updated_at=iso(endpoint.updated_at),
        type=DeployType(ext.get("type") or DeployType.LLM.value),
        instances=state.instances,
        config=DeployLLMConfig(
            gpu=_gpu(config.get("gpu")),
            num_gpus=int(config.get("num_gpus") or endpoint.spec.resources.gpu_count),
            max_batch_size=int(config.get("max_batch_size") or endpoint.spec.max_concurrency or 0),
            weights=None
            if weights is None
            else DeployWeights(repo=weights.get("repo"), revision=weights.get("revision")),
        ),
        settings=settings_of(endpoint.spec),
    )


def _gpu(value: Any) -> GpuType:
    try:
        return GpuType(value)
    except ValueError:  # an extension changed through the native API: show it as "other"
        return GpuType.OTHER


def iso(moment: datetime) -> str:
    """ISO-8601 in UTC with seconds, like DeepInfra's "2021-08-27T17:19:21+00:00"."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds")
