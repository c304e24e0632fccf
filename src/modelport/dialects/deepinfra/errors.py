"""DeepInfra's error envelope: FastAPI's `{"detail": ...}`, rendered in this one place.

Bad input is 422 `{"detail": [{"loc", "msg", "type"}]}` with `loc` naming the field in
DeepInfra's spelling (["body", "hf", "repo"]); every other error is `{"detail": "message"}`.
The request's values are never echoed (FastAPI's default would echo `input`, which may hold
hf.token). The mechanics are api/error_plumbing.py's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelport.api import error_plumbing as plumbing
from modelport.dialects.deepinfra.schemas import ErrorOut, ValidationErrorOut
from modelport.domain.errors import InvalidSpec, ModelportError

_FIELD_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*): (.+)$", re.DOTALL)
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")

_STATUSES = plumbing.per_kind(
    not_found=404,
    conflict=409,
    invalid_spec=422,
    forbidden=403,
    unauthorized=401,
    permanent=400,
    temporary=503,
    quota_exceeded=429,
)

# Modelport spec paths (as the endpoint service names them) -> DeepInfra request fields.
_SPEC_FIELDS: Sequence[tuple[str, str]] = (
    ("name", "model_name"),
    ("spec.model.revision", "hf.revision"),
    ("spec.model", "hf.repo"),
    ("spec.extra_args", "extra_args"),
    ("spec.env", "hf.token"),
    ("spec.resources.gpu_type", "gpu"),
    ("spec.resources", "num_gpus"),
    ("spec.max_concurrency", "max_batch_size"),
    ("spec.replicas", "settings.min_instances"),
    ("spec.autoscale", "settings"),
)

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    **{status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 413, 429)},
    422: {"model": ValidationErrorOut},
}


class BadField(ModelportError):
    """Input that names a DeepInfra field (dotted, e.g. "settings.max_instances"): 422."""

    def __init__(
        self, field: str, message: str, type_: str = "value_error", location: str = "body"
    ) -> None:
        super().__init__(f"{field}: {message}", field=field)
        self.type = type_
        self.location = location


def detail_response(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(ErrorOut(detail=message).model_dump(), status_code=status, headers=headers)


def field_response(field: str, message: str, type_: str, location: str = "body") -> JSONResponse:
    loc: list[str | int] = [location, *field.split(".")]
    body = {"detail": [{"loc": loc, "msg": message, "type": type_}]}
    return JSONResponse(body, status_code=422)


def deepinfra_field(field: str | None) -> str:
    """A service field path in DeepInfra's spelling ("spec.model.path" -> "hf.repo")."""
    if not field:
        return "body"
    for prefix, mapped in _SPEC_FIELDS:
        if field == prefix or field.startswith(prefix + "."):
            return mapped
    return field.removeprefix("spec.")


def _bad_field(exc: BadField) -> JSONResponse:
    return field_response(exc.field or "body", exc.message, exc.type, exc.location)


def _domain(exc: ModelportError, kind: plumbing.DomainKind) -> JSONResponse:
    if kind is InvalidSpec:
        field = deepinfra_field(exc.field)
        detail = exc.message.removeprefix(f"{exc.field}: ") if exc.field else exc.message
        return field_response(field, f"{field}: {detail}", "value_error")
    message = exc.message
    if exc.field and message.startswith(f"{exc.field}: "):  # e.g. a 403 naming "spec.extra_args"
        message = f"{deepinfra_field(exc.field)}: {message.removeprefix(f'{exc.field}: ')}"
    return detail_response(_STATUSES[kind], message)


def validation_error_response(raw: Sequence[Any]) -> JSONResponse:
    details = [_detail(error) for error in raw]
    return JSONResponse(ValidationErrorOut.model_validate({"detail": details}).model_dump(), 422)


def _detail(error: Mapping[str, Any]) -> dict[str, Any]:
    """loc, msg and type only; a model validator's "field: ..." message moves into loc."""
    loc: list[str | int] = [p if isinstance(p, int) else str(p) for p in error.get("loc", ())]
    message = str(error.get("msg", "invalid value"))
    for noise in _PYDANTIC_PREFIXES:
        message = message.removeprefix(noise)
    named = _FIELD_PREFIX.match(message)
    if named is not None:
        inner = named.group(1).split(".")
        if not loc or loc[-1] != inner[-1]:
            loc = [*loc, *inner]
        message = named.group(2)
    path = ".".join(str(p) for p in loc[1:]) or "body"
    message = f"{path}: {message}"
    return {"loc": loc, "msg": message, "type": str(error.get("type", "value_error"))}


def _http(exc: StarletteHTTPException) -> JSONResponse:
    return detail_response(exc.status_code, str(exc.detail), exc.headers)


ENVELOPE = plumbing.Envelope(
    domain=_domain,
    validation=validation_error_response,
    http=_http,
    unexpected=lambda: detail_response(500, plumbing.INTERNAL_MESSAGE),
)


def install_error_handlers(app: FastAPI) -> None:
    """Every failure in DeepInfra's envelope, the last-resort 500 included."""
    plumbing.install_error_handlers(app, ENVELOPE)
    plumbing.handle(app, BadField, _bad_field)  # the most specific handler wins
    app.add_middleware(plumbing.CatchUnexpected, envelope=ENVELOPE)
