"""TIR's answer envelope: {"code", "data", "errors", "message"}, for successes and errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel


class EnvelopeOut(BaseModel):
    """Every TIR answer, success or error, as the OpenAPI document declares it."""

    code: int  # the HTTP status again
    data: Any  # the result; {} on errors
    errors: dict[str, list[str]]  # field -> messages; {} on success
    message: str


# What any route may answer, each in the envelope. Invalid input is a 400 here (TIR's own
# status), so FastAPI's automatic 422 entry is never sent.
RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": EnvelopeOut} for status in (200, 400, 401, 403, 404, 409, 413, 429, 503)
}

# Spec paths (from the services and engines) as the TIR request fields they come from.
_SPEC_TO_TIR: Sequence[tuple[str, str]] = (
    ("spec.model.path", "path"),
    ("spec.model.hf_id", "detailed_info.hugging_face_id"),
    ("spec.model.image", "custom_endpoint_details.container.container_name"),
    ("spec.model.tokenizer", "detailed_info.tokenizer"),
    ("spec.model.model_id", "model_id"),
    ("spec.model.integration", "model_load_integration_id"),
    (
        "spec.model.registry_integration",
        "custom_endpoint_details.container.private_image_details.registry_namespace_id",
    ),
    ("spec.model", "path"),
    ("spec.command", "detailed_info.commands"),
    ("spec.engine_args", "detailed_info.engine_args"),
    ("spec.extra_args", "detailed_info.args"),
    ("spec.env", "custom_endpoint_details.resource_details.env_variables"),
    ("spec.resources", "sku_id"),
    ("spec.replicas", "replica"),
    ("spec.autoscale", "auto_scale_policy"),
    ("spec.readiness", "custom_endpoint_details.container.advance_config.readiness_probe"),
    ("spec.liveness", "custom_endpoint_details.container.advance_config.liveness_probe"),
    ("spec.world_size", "detailed_info.world_size"),
    ("spec.server_version", "detailed_info.server_version"),
    ("spec.async_config.dataset_id", "async_dataset_id"),
    ("spec.async_config.concurrent_workers", "async_concurrent_workers"),
    ("spec.async_config.target_routes", "async_target_routes"),
    ("spec.async_config.destination_type", "async_destination_type"),
    ("spec.async_config.enabled", "async_enabled"),
    ("spec.async_config", "async_enabled"),
    ("spec.mounts", "disk_path"),
)


def tir_field(field: str | None) -> str | None:
    """A spec path ("spec.model.path") as the TIR field it came from ("path")."""
    if field is None:
        return None
    for spec_path, tir_path in _SPEC_TO_TIR:
        if field == spec_path or field.startswith(spec_path + "."):
            return tir_path + field[len(spec_path) :]
    return field


def tir_message(message: str, field: str | None) -> str:
    """The message with a leading spec path replaced by its TIR field."""
    for spec_path, _ in _SPEC_TO_TIR:
        if message.startswith(spec_path):
            head, sep, rest = message.partition(": ")
            if sep:
                return f"{tir_field(head)}: {rest}"
    if field and not message.startswith(f"{field}:"):
        return f"{field}: {message}"
    return message


def success(data: Any, message: str, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"code": status, "data": data, "errors": {}, "message": message}, status_code=status
    )


def failure(
    status: int,
    message: str,
    errors: Mapping[str, Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error: `errors` maps each field at fault to its messages (DRF style)."""
    body = {
        "code": status,
        "data": {},
        "errors": {key: list(value) for key, value in (errors or {}).items()},
        "message": message,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def field_failure(status: int, field: str | None, message: str) -> JSONResponse:
    field = tir_field(field)
    message = tir_message(message, field)
    return failure(status, message, {field or "non_field_errors": [message]})
