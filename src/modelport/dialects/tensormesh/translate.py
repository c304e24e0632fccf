"""A Tensormesh deploy request as an EndpointSpec, and an endpoint back as a Tensormesh model.

What only Tensormesh needs is kept in `spec.extensions["tensormesh"]` (camelCase, as sent):
modelId (a UUID generated here), modelName (the gateway routes `model` by it), userId,
modelSpec, infra, nodeId and the two cache switches. Never apiKey or hfToken: the key is a
hashed token, the HF token a secret env var (HF_TOKEN) sealed by the services. Credential-like
modelSpec.engineArgs (api_key, hf_token, ...) are kept masked: the spec holds them sealed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field, ValidationError

from modelport.dialects.tensormesh.errors import invalid, translated
from modelport.dialects.tensormesh.options import (
    Note,
    cache_options,
    choose_engine,
    engine_args,
    placement_note,
)
from modelport.dialects.tensormesh.schemas import (
    CloudProvider,
    DeployModelRequest,
    GpuType,
    Infra,
    Model,
    ModelEvent,
    TensormeshMessage,
)
from modelport.dialects.tensormesh.statuses import model_status, timestamp
from modelport.domain import dialects
from modelport.domain.dialects import Shape
from modelport.domain.errors import InvalidSpec
from modelport.domain.ids import validate_name
from modelport.domain.specs import EndpointSpec, Framework, is_secret_engine_arg
from modelport.schemas.native import EndpointPublic
from modelport.security.secrets import REDACTED
from modelport.services.tokens import check_chosen_secret
from modelport.services.validation import invalid_spec

EXTENSION = dialects.TENSORMESH.name
# The base Tensormesh's inference client takes (it appends /v1/...); `model` = modelName.
INFERENCE_BASE = dialects.TENSORMESH.base(Shape.OPENAI_SERVER)
OPENAI_PATH = INFERENCE_BASE + "/v1"  # an OpenAI SDK's base_url
MODEL_NAME_MAX = 200
HF_TOKEN_ENV = "HF_TOKEN"  # noqa: S105 - the variable's name, not a secret

GPU_TYPES: Mapping[GpuType, str | None] = {
    GpuType.UNSPECIFIED: None,
    GpuType.A100: "A100",
    GpuType.H100: "H100",
    GpuType.H200: "H200",
    GpuType.B200: "B200",
}
_GPU_TYPE_OF = {name: gpu for gpu, name in GPU_TYPES.items() if name}
_REGION_OF: Mapping[CloudProvider, str] = {
    CloudProvider.NEBIUS: "nebiusRegion",
    CloudProvider.LAMBDA: "lambdaRegion",
    CloudProvider.ONPREM: "onpremRegion",
}
_HF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Stored(TensormeshMessage):
    """`extensions["tensormesh"]` as written by `deployment`."""

    model_id: str
    model_name: str
    user_id: str = ""
    model_spec: dict[str, Any] = Field(default_factory=dict)
    infra: Infra = Field(default_factory=Infra)
    node_id: str = ""
    kv_cache_enabled: bool | None = None
    cpu_offloading_enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class Deployment:
    name: str  # the Modelport endpoint name (Tensormesh's deploymentId)
    spec: EndpointSpec
    notes: Sequence[Note]  # events for a newly created endpoint


def endpoint_name(model_name: str) -> str:
    """modelName itself when it is a valid endpoint name, else a slug plus a short hash."""
    try:
        return validate_name(model_name)
    except ValueError:
        pass
    slug = re.sub(r"[^a-z0-9]+", "-", model_name.lower()).strip("-")[:50].strip("-") or "model"
    return f"{slug}-{hashlib.sha256(model_name.encode()).hexdigest()[:8]}"


def canonical_uuid(field: str, value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise invalid(field, f"must be a valid UUID (got {value!r})") from exc


def deployment(request: DeployModelRequest, model_id: str) -> Deployment:
    """The endpoint to create; TensormeshError or InvalidSpec naming the field at fault."""
    _check(request)
    framework = choose_engine(request.model_path, request.model_spec)
    args, notes = cache_options(framework, request.kv_cache_enabled, request.cpu_offloading_enabled)
    args.update(engine_args(request.model_spec))  # explicit flags win over the switches
    stored = Stored(
        model_id=model_id,
        model_name=request.model_name,
        user_id=canonical_uuid("userId", request.user_id),
        model_spec=_masked(request.model_spec),
        infra=request.infra,
        node_id=request.node_id,
        kv_cache_enabled=request.kv_cache_enabled,
        cpu_offloading_enabled=request.cpu_offloading_enabled,
    )
    hf_token = [{"name": HF_TOKEN_ENV, "value": request.hf_token, "secret": True}]
    try:
        spec = EndpointSpec.model_validate(
            {
                "framework": framework,
                "model": _source(request.model_path, framework),
                "engine_args": args,
                "env": hf_token if request.hf_token else [],
                "resources": {
                    "gpu_count": request.gpu_count,
                    "gpu_type": GPU_TYPES[request.gpu_type],
                },
                "description": request.description or None,
                "extensions": {EXTENSION: stored.model_dump(mode="json", by_alias=True)},
            }
        )
    except ValidationError as exc:
        raise translated(invalid_spec(exc)) from exc
    placement = placement_note(_placement_asked(request))
    return Deployment(
        endpoint_name(request.model_name), spec, [*notes, *([placement] if placement else [])]
    )


def _masked(model_spec: dict[str, Any]) -> dict[str, Any]:
    """modelSpec with the values of secret engineArgs masked, as it is stored and echoed."""
    given = model_spec.get("engineArgs")
    if not isinstance(given, dict):
        return model_spec
    args = {
        key: REDACTED if is_secret_engine_arg(str(key), value) else value
        for key, value in given.items()
    }
    return {**model_spec, "engineArgs": args}


def model_name_problem(model_name: str) -> str | None:
    """Why a modelName cannot be deployed (taken aside), or None."""
    if not model_name.strip():
        return "required"
    if len(model_name) > MODEL_NAME_MAX:
        return f"at most {MODEL_NAME_MAX} characters"
    if _CONTROL.search(model_name):
        return "must not contain control characters"
    return None


def _check(request: DeployModelRequest) -> None:
    problem = model_name_problem(request.model_name)
    if problem:
        raise invalid("modelName", problem)
    if not request.user_id:
        raise invalid("userId", "required (the UUID of the user who owns the model)")
    if not request.model_path:
        raise invalid("modelPath", "required (a Hugging Face model id, or a local path)")
    if not request.model_path.startswith("/") and not _HF_ID.match(request.model_path):
        raise invalid(
            "modelPath",
            "must be a Hugging Face model id like 'org/name', or an absolute local path",
        )
    if request.gpu_type is not GpuType.UNSPECIFIED and request.gpu_count == 0:
        raise invalid("gpuCount", f"must be at least 1 when gpuType is {request.gpu_type.value}")
    if request.api_key:
        try:
            check_chosen_secret(request.api_key)
        except InvalidSpec as exc:
            raise translated(exc) from exc
    if _CONTROL.search(request.hf_token) or " " in request.hf_token:
        raise invalid("hfToken", "must not contain spaces or control characters")
    _check_infra(request.infra)


def _check_infra(infra: Infra) -> None:
    """A region of another provider than cloudProvider is a contradiction (infra is a oneof)."""
    if infra.cloud_provider is CloudProvider.UNSPECIFIED:
        return
    chosen = _REGION_OF[infra.cloud_provider]
    for name, value in _regions(infra).items():
        if name != chosen and value:
            raise invalid(
                f"infra.{name}",
                f"set with cloudProvider {infra.cloud_provider.value}; use infra.{chosen}",
            )


def infra_set(infra: Infra) -> dict[str, str]:
    """The fields of `infra` that say something: the provider unless unspecified, and regions."""
    provider = infra.cloud_provider
    chosen = {"cloudProvider": provider.value} if provider is not CloudProvider.UNSPECIFIED else {}
    return {**chosen, **_regions(infra)}


def _regions(infra: Infra) -> dict[str, str]:
    """The regions that are set (an *_UNSPECIFIED enum or "" is not)."""
    values = {
        "nebiusRegion": infra.nebius_region,
        "lambdaRegion": infra.lambda_region,
        "onpremRegion": infra.onprem_region,
    }
    return {k: v for k, v in values.items() if v and not v.endswith("_UNSPECIFIED")}


def _placement_asked(request: DeployModelRequest) -> list[str]:
    provider = request.infra.cloud_provider
    asked = [provider.value] if provider is not CloudProvider.UNSPECIFIED else []
    asked += _regions(request.infra).values()
    if request.node_id:
        asked.append(f"nodeId {request.node_id}")
    return asked


def _source(model_path: str, framework: Framework) -> dict[str, str]:
    """llama.cpp and absolute paths load a local file; anything else is a Hugging Face id."""
    if framework is Framework.LLAMACPP or model_path.startswith("/"):
        return {"path": model_path}
    return {"hf_id": model_path}


# --- endpoint -> Tensormesh model ------------------------------------------------------------


def stored(spec: EndpointSpec) -> Stored | None:
    """The Tensormesh part of a spec; None for endpoints Tensormesh did not create."""
    raw = spec.extensions.get(EXTENSION)
    if not isinstance(raw, dict):
        return None
    try:
        return Stored.model_validate(raw)
    except ValidationError:
        return None


def to_model(
    public: EndpointPublic,
    tm: Stored,
    events: Sequence[ModelEvent],
    gateway_base_url: str,
    api_key: str = "",
) -> Model:
    """The spec is the truth for what the native API can change (model, GPUs, description)."""
    spec = public.spec
    gpu_type = _GPU_TYPE_OF.get(spec.resources.gpu_type or "", GpuType.UNSPECIFIED)
    return Model(
        model_id=tm.model_id,
        deployment_id=public.name,
        user_id=tm.user_id,
        description=spec.description or "",
        model_path=spec.model.path or spec.model.hf_id or "",
        model_name=tm.model_name,
        status=model_status(public.phase),
        events=list(events),
        created_at=timestamp(public.created_at),
        updated_at=timestamp(public.updated_at),
        model_spec=tm.model_spec,
        infra=tm.infra,
        gpu_count=spec.resources.gpu_count,
        gpu_type=gpu_type,
        replicas=public.replicas.desired,
        endpoint=f"{gateway_base_url.rstrip('/')}{INFERENCE_BASE}",
        api_key=api_key,
    )


def model_body(model: Model) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)
