"""What each TIR call does, in terms of the endpoint service: no storage or lifecycle here."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from modelport.api.container import ApiServices
from modelport.dialects.tir import async_views, terraform
from modelport.dialects.tir.frameworks import resolve_framework
from modelport.dialects.tir.schemas import EndpointRequest, UpdateRequest
from modelport.dialects.tir.translate import endpoint_name, to_spec
from modelport.dialects.tir.views import current_request, extension
from modelport.domain.errors import InvalidSpec, ModelportError, NotFound
from modelport.domain.records import Endpoint
from modelport.domain.specs import AsyncConfig, AsyncTargetRoute
from modelport.schemas.native import EndpointPublic
from modelport.services.auth import Principal
from modelport.services.validation import invalid_spec

# Spec fields a TIR request decides; others (labels, description, async_config, ...) are kept.
_TRANSLATED = (
    "framework",
    "model",
    "command",
    "engine_args",
    "extra_args",
    "env",
    "resources",
    "replicas",
    "autoscale",
    "readiness",
    "liveness",
    "mounts",
    "server_version",
    "world_size",
    "logging",
    "image_pull_policy",
    "runtime",
    "extensions",
)
_AUTOSCALE_FIELDS = ("is_auto_scale_enabled", "auto_scale_policy")
DATASET_FIELD = "async_dataset_id"
_PLAN_PICKERS = ("sku_id", "sku_item_price_id", "sku_name")
_PLAN_FILTERS = ("sku_type", "committed_days", "currency")
DONE = {
    "patch": "Model Endpoint updated successfully",
    "update": "Model Endpoint updated successfully",
    "restart": "Model Endpoint restarted successfully",
    "stop": "Model Endpoint stopped successfully",
    "start": "Model Endpoint started successfully",
    "update_auto_scale": "Model Endpoint auto scale policy updated successfully",
    "update_async_configuration": "Model Endpoint async configuration updated successfully",
    "disable_auto_scale": "Model Endpoint replica count updated successfully",
}


def create(
    services: ApiServices, principal: Principal, request: EndpointRequest, location: str | None
) -> tuple[EndpointPublic, str | None]:
    """The new endpoint's view and inference key; the existing one and None when the same
    request was already made (TIR names are unique in a project)."""
    name = endpoint_name(request.name)
    spec = to_spec(request, services.plans, location)
    endpoint, key = services.endpoints.create(principal, name, spec)
    return services.endpoints.view(endpoint), key


def find(services: ApiServices, principal: Principal, inference_id: int) -> Endpoint:
    """The caller's endpoint with this id (TIR's inference_id is Modelport's endpoint id)."""
    endpoint = services.endpoints.get_by_id(principal, inference_id)
    if endpoint is not None:
        return endpoint
    raise NotFound(
        f"inference_id: no endpoint {inference_id} in this project", field="inference_id"
    )


def act(
    services: ApiServices,
    principal: Principal,
    inference_id: int,
    body: UpdateRequest,
    location: str | None,
) -> str:
    """Apply one PUT action; the answer's message."""
    # Before anything else: a PUT that changes nothing must not answer 200 where a real
    # change would be refused (viewers, inference keys).
    principal.require_mutate()
    endpoint = find(services, principal, inference_id)
    name = endpoint.name
    action = body.action
    if action == "stop":
        services.endpoints.stop(principal, name)
    elif action == "start":
        services.endpoints.start(principal, name)
    elif action == "restart":
        services.endpoints.restart(principal, name)
    elif action == "update_async_configuration":
        config = _async_config(body, services.endpoints.view(endpoint).spec.async_config)
        if config.enabled and services.datasets is not None:
            # Named as TIR names it; the endpoint service checks again under its own name.
            services.datasets.resolve(principal.project_id, config.dataset_id, field=DATASET_FIELD)
        services.endpoints.patch(principal, name, {"async_config": config.model_dump(mode="json")})
    else:
        given = body.endpoint_fields()
        if action == "disable_auto_scale":
            # The e2enetworks SDK's manage_replica_count: a fixed count, autoscaling off.
            if body.replicas is None:
                raise InvalidSpec(
                    "replicas: required for disable_auto_scale (the replica count)",
                    field="replicas",
                )
            given = {"replica": body.replicas, "is_auto_scale_enabled": False}
        elif action == "update_auto_scale":
            given = {key: given[key] for key in _AUTOSCALE_FIELDS if key in given}
            if not given:
                raise InvalidSpec(
                    "auto_scale_policy: required for update_auto_scale", field="auto_scale_policy"
                )
            # "Create or update the autoscaling policy" (seed 004): the e2enetworks SDK's
            # upscale/downscale send the policy alone; it is meant to act, so it turns
            # autoscaling on unless the body says otherwise.
            given.setdefault("is_auto_scale_enabled", True)
        changes = _patch_changes(services, endpoint, given, location)
        if changes:
            services.endpoints.patch(principal, name, changes)
    return DONE[action]


def _patch_changes(
    services: ApiServices, endpoint: Endpoint, given: dict[str, Any], location: str | None
) -> dict[str, Any]:
    """The spec fields that change when `given` (TIR fields) is merged into the endpoint.

    Both the current and the merged request are translated; only fields whose translation
    differs are sent, so what TIR cannot express (set through the native API) is kept.
    """
    view = services.endpoints.view(endpoint)
    current = current_request(view)
    stored_location = extension(view.spec).get("location")
    where = location or stored_location
    try:
        given = terraform.nest(given)  # Terraform's flat names, where the current request has them
    except ValueError as exc:
        raise InvalidSpec(str(exc), field=str(exc).partition(":")[0]) from exc
    _reject_renames(current, given)
    merged = _deep_merge(current, _canonical(given))
    if any(key in given for key in _PLAN_PICKERS):
        # A new plan is named: what the old one was picked by must not contradict it.
        for key in (*_PLAN_PICKERS, *_PLAN_FILTERS):
            merged[key] = given.get(key)
    try:
        request = EndpointRequest.model_validate(merged)
    except ValidationError as exc:
        raise invalid_spec(exc, prefix=()) from exc
    new = to_spec(request, services.plans, where, base=view.spec).model_dump(mode="json")
    try:
        old_request = EndpointRequest.model_validate(current)
        old: dict[str, Any] = to_spec(
            old_request, services.plans, stored_location or where, base=view.spec
        ).model_dump(mode="json")
    except (ValidationError, ModelportError):
        old = {}  # the stored request no longer translates (e.g. a plan was removed): send all
    return {key: new[key] for key in _TRANSLATED if new[key] != old.get(key)}


def _reject_renames(current: dict[str, Any], given: dict[str, Any]) -> None:
    if "name" in given and given["name"] != current.get("name"):
        raise InvalidSpec("name: an endpoint cannot be renamed; create a new one", field="name")
    wanted = given.get("framework")
    if isinstance(wanted, str) and resolve_framework(wanted).value != current.get("framework"):
        raise InvalidSpec(
            "framework: cannot be changed once the endpoint exists; create a new one",
            field="framework",
        )


# Spellings a request may use for a key the stored request keeps under its canonical name:
# merged as sent, the stored canonical key would win over the change (TIR's Terraform provider
# sends min_replica / max_replica).
_ALIASES: dict[str, dict[str, str]] = {
    "auto_scale_policy": {"min_replica": "min_replicas", "max_replica": "max_replicas"},
}


def _canonical(given: dict[str, Any]) -> dict[str, Any]:
    out = dict(given)
    for block, names in _ALIASES.items():
        inner = out.get(block)
        if not isinstance(inner, dict):
            continue
        renamed = dict(inner)
        for alias, name in names.items():
            if alias in renamed:
                value = renamed.pop(alias)
                renamed.setdefault(name, value)  # the canonical spelling wins when both are sent
        out[block] = renamed
    return out


def _deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "engine_args":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _async_config(body: UpdateRequest, current: AsyncConfig) -> AsyncConfig:
    if body.async_enabled is None:
        raise InvalidSpec(
            "async_enabled: required for update_async_configuration", field="async_enabled"
        )
    if not body.async_enabled:
        return current.model_copy(update={"enabled": False})
    for field in ("async_concurrent_workers", DATASET_FIELD):
        if getattr(body, field) is None:
            raise InvalidSpec(f"{field}: required when async_enabled is true", field=field)
    assert body.async_concurrent_workers is not None
    return AsyncConfig(
        enabled=True,
        concurrent_workers=body.async_concurrent_workers,
        dataset_id=str(body.async_dataset_id),
        destination_type=body.async_destination_type or "dataset",
        target_routes=[
            AsyncTargetRoute(route_name=r.route_name, route_value=r.route_value)
            for r in body.async_target_routes or []
        ],
    )


def async_status(
    services: ApiServices,
    principal: Principal,
    inference_id: int,
    request_id: str | None,
    query: async_views.AsyncQuery,
) -> list[dict[str, Any]]:
    """GET .../async_status/: one request by id, or a page of them (async_views.py)."""
    endpoint = find(services, principal, inference_id)
    if services.invocations is None:  # a process built without async invocations
        if request_id is not None:
            raise async_views.unknown_request(request_id, inference_id)
        return []
    if request_id is not None:
        return async_views.one(services.invocations, principal, endpoint, request_id)
    return async_views.page(services.invocations, principal, endpoint, query)
