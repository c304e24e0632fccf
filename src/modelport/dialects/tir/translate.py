"""A TIR endpoint request as an EndpointSpec, and a TIR name as a Modelport endpoint name.

What the spec has no field for, and what TIR's answers must echo, goes into
`spec.extensions["tir"]`: the request as given (secret values left out) and the plan chosen.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from modelport.catalog import (
    PlanCatalog,
    PresetKind,
    to_resources,
    validate_hf_model,
    validate_server_version,
)
from modelport.dialects.tir import container, parts, storage
from modelport.dialects.tir.frameworks import TirFramework, resolve_framework
from modelport.dialects.tir.schemas import EndpointRequest
from modelport.domain import dialects
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import (
    EndpointSpec,
    Framework,
    LogOptions,
    ModelSource,
    Resources,
    is_secret_engine_arg,
)
from modelport.security.secrets import REDACTED
from modelport.services.validation import invalid_spec

EXTENSION = dialects.TIR.name  # the key in spec.extensions
_HF_LISTED = frozenset({Framework.VLLM, Framework.SGLANG, Framework.DYNAMO})
_SERVE_FILES = frozenset({Framework.TRITON, Framework.TORCHSERVE})  # never a Hub id
_NOT_LABEL = re.compile(r"[^a-z0-9-]+")


def endpoint_name(tir_name: str) -> str:
    """TIR's free-form `name` as a DNS label: lower case, other characters become '-'."""
    label = _NOT_LABEL.sub("-", tir_name.strip().lower()).strip("-")
    label = re.sub(r"-{2,}", "-", label)[:63].rstrip("-")
    if not label:
        raise InvalidSpec(
            "name: needs at least one letter or digit (it becomes the endpoint's URL name)",
            field="name",
        )
    return label


def to_spec(
    request: EndpointRequest,
    plans: PlanCatalog,
    location: str | None,
    base: EndpointSpec | None = None,
) -> EndpointSpec:
    """The spec a TIR request asks for. `base` is the current spec when patching: it supplies
    what a TIR request cannot say (an endpoint made through another API has no plan)."""
    framework = resolve_framework(request.framework)
    location = location or request.location
    resources, sku = _resources(request, plans, location, base)
    details = request.custom_endpoint_details
    info = request.detailed_info
    model = _model(request, framework, base)
    command = parts.parse_command(info.commands, "detailed_info.commands")
    args = parts.parse_command(info.args, "detailed_info.args")
    if info.server_version:
        validate_server_version(framework.value, info.server_version)
    advance = details.container.advance_config
    is_custom = framework.engine is Framework.CUSTOM
    if is_custom and not command and not args and not model.image:
        field = "detailed_info.commands"
        raise InvalidSpec(
            f"{field}: a custom container needs commands (or a container_name to run)",
            field=field,
        )
    try:
        return EndpointSpec(
            framework=framework.engine,
            model=model,
            command=[*command, *args] if is_custom and command else [],
            engine_args=parts.engine_args(
                info.engine_args, vllm=framework.engine is Framework.VLLM
            ),
            # An image without commands keeps its ENTRYPOINT; args are then its CMD.
            extra_args=args if not is_custom or not command else [],
            env=parts.env_vars(details.resource_details.env_variables),
            resources=resources,
            replicas=request.replica,
            autoscale=parts.autoscale(
                request.is_auto_scale_enabled,
                request.auto_scale_policy,
                keep=None if base is None else base.autoscale,
            ),
            readiness=parts.probe(advance.readiness_probe, "readiness_probe")
            if advance.is_readiness_probe_enabled
            else None,
            liveness=parts.probe(advance.liveness_probe, "liveness_probe")
            if advance.is_liveness_probe_enabled
            else None,
            mounts=storage.mounts(request),
            server_version=info.server_version or None,
            world_size=info.world_size,
            logging=LogOptions(
                error=info.error_log,
                info=info.info_log,
                warning=info.warning_log,
                verbose_level=info.log_verbose_level,
            ),
            image_pull_policy=advance.image_pull_policy,
            runtime=container.runtime(request, framework.engine, command, plans, location),
            extensions={EXTENSION: stored_request(request, framework, location, sku)},
        )
    except ValidationError as exc:
        raise invalid_spec(exc) from exc


def stored_request(
    request: EndpointRequest,
    framework: TirFramework,
    location: str | None,
    sku: dict[str, Any] | None,
) -> dict[str, Any]:
    """What extensions["tir"] keeps: the request without env values (they live in spec.env,
    sealed when secret) and with secret engine_args masked (sealed in spec.engine_args), the
    canonical framework value, the location and the chosen plan."""
    kept = request.model_dump(mode="json")
    kept["framework"] = framework.value
    for entry in kept["custom_endpoint_details"]["resource_details"]["env_variables"]:
        entry.pop("value", None)
    args = kept["detailed_info"]["engine_args"]
    for key, value in args.items():
        if value not in (None, "") and is_secret_engine_arg(key, value):
            args[key] = REDACTED
    return {"request": kept, "location": location, "sku": sku}


def _resources(
    request: EndpointRequest,
    plans: PlanCatalog,
    location: str | None,
    base: EndpointSpec | None,
) -> tuple[Resources, dict[str, Any] | None]:
    disk = request.custom_endpoint_details.resource_details.disk_size
    if request.cluster_type == "private-cluster":
        if request.private_cloud_id is None:
            raise InvalidSpec(
                "private_cloud_id: required when cluster_type is private-cluster",
                field="private_cloud_id",
            )
        shape = request.custom_sku
        if shape is None:
            raise InvalidSpec(
                "custom_sku: required when cluster_type is private-cluster "
                '(e.g. {"cpu": 1, "gpu": 0, "memory": 1})',
                field="custom_sku",
            )
        memory = max(64, round(shape.memory * 1024))
        return Resources(cpu=shape.cpu, memory_mb=memory, gpu_count=shape.gpu, disk_gb=disk), None
    if request.sku_id is None and request.sku_name is None and base is not None:
        return base.resources, None  # patching an endpoint that never had a plan
    if location is None:
        raise InvalidSpec("location: required (e.g. ?location=Delhi)", field="location")
    # Without sku_item_price_id (the e2enetworks SDK sends none) the catalog picks the plan's
    # hourly price, narrowed by sku_type / committed_days / currency when given.
    chosen = plans.resolve(
        request.sku_id,
        request.sku_item_price_id,
        request.sku_name,
        location,
        sku_type=request.sku_type,
        committed_days=request.committed_days,
        currency=request.currency,
    )
    resources = to_resources(chosen).model_copy(update={"disk_gb": disk})
    plan, price = chosen.plan, chosen.price
    sku = {
        "sku_id": plan.sku_id,
        "sku_name": plan.sku_name,
        "sku_item_price_id": price.sku_item_price_id,
        "sku_type": price.sku_type.value,
        "committed_days": price.committed_days,
        "currency": price.currency.value,
        "unit_price": price.price_per_hour,
        "location": chosen.location.name,
    }
    return resources, sku


def _model(
    request: EndpointRequest, framework: TirFramework, base: EndpointSpec | None
) -> ModelSource:
    info = request.detailed_info
    path = request.path.strip()
    revision = base.model.revision if base is not None else None
    integration = _ref(request.model_load_integration_id)
    if framework.engine is Framework.LLAMACPP:
        model_id = _ref(request.model_id)
        if not path and model_id is None:
            raise InvalidSpec(
                "path: llamacpp serves a GGUF file; set path (or model_id)", field="path"
            )
        return ModelSource(
            path=storage.on_disk(request, path) if path else None,
            model_id=model_id,
            revision=revision,
            tokenizer=info.tokenizer or None,
            integration=integration,
        )
    hf_id = info.hugging_face_id.strip() or None
    if framework.preset is not None and framework.preset.kind is PresetKind.MODEL:
        hf_id = hf_id or framework.preset.hf_id
    elif framework.engine in _HF_LISTED and hf_id is not None:
        validate_hf_model(framework.value, hf_id)
        hf_id = None if hf_id.lower() == "custom" else hf_id
    model_id = _ref(request.model_id)
    # A repository model is fetched onto the host before launch (its own source); TIR's disk
    # is where the files are otherwise, unless the engine downloads a Hub id itself.
    needs_files = bool(path)
    if model_id is None and (
        framework.engine in _SERVE_FILES or (framework.engine is not Framework.CUSTOM and not hf_id)
    ):
        needs_files = True
    details = request.custom_endpoint_details.container
    return ModelSource(
        hf_id=hf_id,
        revision=revision,
        path=storage.on_disk(request, path) if needs_files else None,
        image=container.image(details),
        model_id=model_id,
        tokenizer=info.tokenizer or None,
        serve_type=info.model_serve_type or None,
        integration=integration,
        registry_integration=container.registry_integration(details),
    )


def _ref(value: int | str | None) -> str | None:
    """A TIR id as the spec's reference (an integration's or model's id, or its name)."""
    return None if value is None else str(value)
