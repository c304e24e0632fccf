"""Endpoints and plans in TIR's answer shapes.

An endpoint's TIR request is what extensions["tir"] kept, with the fields Modelport owns (replica
count, autoscaling, env variables, logging, versions) read from the spec, so a change made
through the native API shows here too. Secret env values are always the mask.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import ValidationError

from modelport.catalog import Plan, PlanCatalog
from modelport.dialects.tir import parts
from modelport.dialects.tir.frameworks import TirFramework, framework_value
from modelport.dialects.tir.parts import METRIC_NAMES
from modelport.dialects.tir.schemas import AutoScalePolicyIn, EndpointRequest
from modelport.dialects.tir.statuses import tir_status
from modelport.dialects.tir.translate import EXTENSION
from modelport.domain import dialects
from modelport.domain.dialects import Shape
from modelport.domain.errors import ModelportError
from modelport.domain.specs import EndpointSpec, Framework, PullPolicy
from modelport.schemas.native import EndpointPublic
from modelport.security.secrets import REDACTED

_ECHOED = (
    "path",
    "framework",
    "model_id",
    "model_load_integration_id",
    "dataset_id",
    "dataset_path",
    "replica",
    "committed_replicas",
    "is_auto_scale_enabled",
    "cluster_type",
    "private_cloud_id",
    "custom_sku",
    "storage_type",
    "disk_path",
    "sfs_id",
    "sfs_path",
    "committed_instance_policy",
    "detailed_info",
)


def inference_url(gateway_base_url: str, project_id: int, endpoint_id: int) -> str:
    """TIR's inference URL shape, served by the gateway."""
    base = gateway_base_url.rstrip("/")
    by_id = dialects.TIR.base(Shape.BY_ID)
    return f"{base}{by_id}/p-{project_id}/endpoint/is-{endpoint_id}/"


def extension(spec: EndpointSpec) -> dict[str, Any]:
    found = spec.extensions.get(EXTENSION)
    return found if isinstance(found, dict) and isinstance(found.get("request"), dict) else {}


def current_request(view: EndpointPublic) -> dict[str, Any]:
    """The endpoint as a TIR create request (secret values masked): the base a PUT merges into."""
    spec = view.spec
    stored = extension(spec).get("request")
    request = copy.deepcopy(stored) if isinstance(stored, dict) else _synthesized(view)
    request["replica"] = spec.replicas
    if not _same_autoscale(request, spec):
        request["is_auto_scale_enabled"] = spec.autoscale.enabled
        request["auto_scale_policy"] = _policy(spec)
    details = request.setdefault("custom_endpoint_details", {})
    resource_details = details.setdefault("resource_details", {})
    before = {e.get("key"): e for e in resource_details.get("env_variables", [])}
    resource_details["env_variables"] = [
        {
            "key": env.name,
            "value": REDACTED if env.secret else env.value,
            "required": env.required,
            "disabled": before.get(env.name, {}).get("disabled", {"key": False, "value": False}),
            "secret": env.secret,
        }
        for env in spec.env
    ]
    _container(details.setdefault("container", {}), spec)
    request["model_id"] = _reference(request.get("model_id"), spec.model.model_id)
    request["model_load_integration_id"] = _reference(
        request.get("model_load_integration_id"), spec.model.integration
    )
    info = request.setdefault("detailed_info", {})
    info.update(
        world_size=spec.world_size,
        server_version=spec.server_version or "",
        tokenizer=spec.model.tokenizer or "",
        model_serve_type=spec.model.serve_type or "",
        error_log=spec.logging.error,
        info_log=spec.logging.info,
        warning_log=spec.logging.warning,
        log_verbose_level=spec.logging.verbose_level,
    )
    return request


def _container(container: dict[str, Any], spec: EndpointSpec) -> None:
    """The container fields as the spec has them (a native change shows here too)."""
    container["container_name"] = spec.model.image or ""
    registry = spec.model.registry_integration
    if registry is not None:
        container["container_type"] = "private"
        details = container.setdefault("private_image_details", {})
        details["registry_namespace_id"] = _reference(
            details.get("registry_namespace_id"), registry
        )
    elif container.get("container_type") == "private":
        container["container_type"] = "public"
    advance = container.setdefault("advance_config", {})
    advance["image_pull_policy"] = (spec.image_pull_policy or PullPolicy.ALWAYS).value


def _reference(sent: Any, current: str | None) -> Any:
    """An id as the client sent it (integer or string) while the spec still names it, else the
    spec's: an id as TIR's integer, a name as it is."""
    if current is None:
        return None
    if sent is not None and str(sent) == current:
        return sent
    return int(current) if current.isdigit() else current


def _same_autoscale(request: dict[str, Any], spec: EndpointSpec) -> bool:
    """Whether the stored TIR policy still says what the spec does (then it is echoed as sent,
    empty rule rows included, so Terraform sees no drift)."""
    try:
        policy = AutoScalePolicyIn.model_validate(request.get("auto_scale_policy", {}))
        enabled = bool(request.get("is_auto_scale_enabled"))
        stored = parts.autoscale(enabled, policy, keep=spec.autoscale)
    except (ValidationError, ModelportError):
        return False
    return stored == spec.autoscale


def _policy(spec: EndpointSpec) -> dict[str, Any]:
    return {
        "min_replicas": spec.autoscale.min_replicas,
        "max_replicas": spec.autoscale.max_replicas,
        "stability_period": round(spec.autoscale.stability_period_seconds),
        "initial_cooldown_period": round(spec.autoscale.initial_cooldown_seconds),
        "rules": [
            {
                "metric": METRIC_NAMES[rule.metric],
                "condition_type": rule.condition_type,
                "value": rule.value,
                "watch_period": round(rule.watch_period_seconds),
                "granularity": round(rule.granularity_seconds),
                "window": round(rule.window_seconds),
                "custom_metric_name": rule.custom_metric_name or "",
            }
            for rule in spec.autoscale.rules
        ],
    }


def _synthesized(view: EndpointPublic) -> dict[str, Any]:
    """A TIR request for an endpoint made through another API (it has no extensions["tir"])."""
    spec = view.spec
    custom = spec.framework is Framework.CUSTOM
    raw = {
        "name": view.name,
        "path": spec.model.path or "",
        "framework": framework_value(spec.framework),
        "custom_endpoint_details": {
            "container": {"container_name": spec.model.image or ""},
            "resource_details": {"disk_size": spec.resources.disk_gb or 100},
        },
        "model_id": spec.model.model_id,
        "replica": spec.replicas,
        "is_auto_scale_enabled": spec.autoscale.enabled,
        "auto_scale_policy": {},
        "detailed_info": {
            "commands": json.dumps(spec.command) if custom and spec.command else "",
            "args": json.dumps(spec.extra_args) if spec.extra_args else "",
            "hugging_face_id": spec.model.hf_id or "",
            "engine_args": dict(spec.engine_args),
        },
        "model_load_integration_id": None,
    }
    return EndpointRequest.model_validate(raw).model_dump(mode="json")


def endpoint_data(view: EndpointPublic, gateway_base_url: str) -> dict[str, Any]:
    """`data` of a TIR endpoint answer."""
    request = current_request(view)
    tir = extension(view.spec)
    policy = {"initial_cooldown_period": 0, **request["auto_scale_policy"]}
    policy["stability_period"] = str(policy["stability_period"])  # TIR answers with a string
    details = copy.deepcopy(request["custom_endpoint_details"])
    advance = details.get("container", {}).get("advance_config", {})
    for which in ("readiness_probe", "liveness_probe"):
        if isinstance(advance.get(which), dict) and "port" in advance[which]:
            advance[which]["port"] = str(advance[which]["port"])  # TIR answers with a string
    url = inference_url(gateway_base_url, view.project_id, view.id)
    async_configuration = _async(view.spec)
    return {
        "id": view.id,
        "name": request["name"],
        "endpoint_name": view.name,
        "status": tir_status(view.phase, view.replicas.desired).value,
        "phase": view.phase.value,
        "generation": view.generation,
        "project_id": view.project_id,
        "location": tir.get("location"),
        "created_at": view.created_at.isoformat(),
        "updated_at": view.updated_at.isoformat(),
        **{key: request.get(key) for key in _ECHOED},
        "auto_scale_policy": policy,
        "custom_endpoint_details": details,
        "sku_details": _sku_details(tir.get("sku")),
        "replicas": view.replicas.model_dump(mode="json"),
        "async_configuration": async_configuration,
        # The e2enetworks SDK's async helpers read these two at the top level.
        "async_enabled": async_configuration["async_enabled"],
        "async_dataset_id": async_configuration["async_dataset_id"],
        # Modelport's addition: where the replicas run (None: the server's default).
        "runtime": None if view.spec.runtime is None else view.spec.runtime.value,
        "inference_url": url,
    }


def _sku_details(sku: Any) -> dict[str, Any] | None:
    if not isinstance(sku, dict):
        return None
    return {
        "specs": {"name": sku.get("sku_name"), "sku_id": sku.get("sku_id")},
        "plan": {
            key: sku.get(key)
            for key in ("sku_item_price_id", "sku_type", "committed_days", "currency", "unit_price")
        },
    }


def _async(spec: EndpointSpec) -> dict[str, Any]:
    config = spec.async_config
    return {
        "async_enabled": config.enabled,
        "async_concurrent_workers": config.concurrent_workers,
        # TIR's ids are integers; a dataset named (natively) by name is shown by name.
        "async_dataset_id": _dataset_id(config.dataset_id),
        "async_destination_type": config.destination_type,
        "async_target_routes": [r.model_dump(mode="json") for r in config.target_routes],
    }


def _dataset_id(ref: str | None) -> int | str | None:
    return int(ref) if ref is not None and ref.isdigit() else ref


def plans_data(
    catalog: PlanCatalog, location: str | None, framework: TirFramework | None
) -> dict[str, list[dict[str, Any]]]:
    """Plans grouped as TIR answers them (data.CPU / data.GPU), read by Terraform's
    tir_model_endpoint_plans data source. A GPU framework lists GPU plans only."""
    wanted = location.strip().lower() if location else None
    out: dict[str, list[dict[str, Any]]] = {"CPU": [], "GPU": []}
    for plan in catalog.plans():
        if wanted is not None and wanted not in (loc.lower() for loc in plan.locations):
            continue
        if framework is not None and framework.gpu_count > 0 and plan.gpu_count == 0:
            continue
        out["GPU" if plan.gpu_count else "CPU"].append(_plan(plan))
    return out


def plan_code(series: str, sku_type: str, cpu: str, memory: str, gpu: str) -> str:
    """The plan name the e2enetworks SDK builds from a plan entry and resolves to its sku_id
    (helpers.cpu_plan_short_code), e.g. "CPU-C3.2-2-8GB-0"."""
    return f"{series}-{sku_type.split('-')[0]}-{cpu}-{memory}-{gpu or 0}"


def _plan(plan: Plan) -> dict[str, Any]:
    cpu, memory, gpu = f"{plan.cpu:g}", f"{plan.memory_mb / 1024:g}GB", str(plan.gpu_count)
    series = "GPU" if plan.gpu_count else "CPU"  # the SDK looks CPU plans up by this prefix
    return {
        "name": plan.sku_name,
        "code": plan_code(series, plan.sku_name, cpu, memory, gpu),
        "series": series,
        "sku_type": plan.sku_name,
        "is_free": all(price.price_per_hour == 0 for price in plan.prices),
        # Capacity is checked when a replica is placed (a GPU replica the host cannot hold
        # waits, saying what is missing), not when plans are listed.
        "is_inventory_available": True,
        "sku_id": plan.sku_id,
        "cpu": cpu,
        "gpu": gpu,
        "gpu_type": plan.gpu_type,
        "memory": memory,
        "disk_gb": plan.disk_gb,
        "locations": list(plan.locations),
        "plans": [
            {
                "sku_item_price_id": price.sku_item_price_id,
                "sku_type": price.sku_type.value,
                "committed_days": price.committed_days,
                "unit_price": price.price_per_hour,
                "currency": price.currency.value,
            }
            for price in plan.prices
        ],
    }
