"""Tensormesh's error envelope: google.rpc.Status JSON `{code, message, details}` as gRPC-gateway
renders it, with the HTTP status gRPC-gateway uses for each code. A message names its field in
Tensormesh's spelling (`gpuCount`, `infra.cloudProvider`). Bodies and headers are never echoed
or logged: they may hold apiKey or hfToken. The mechanics are api/error_plumbing.py's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelport.api import error_plumbing as plumbing
from modelport.domain.errors import ModelportError
from modelport.services.validation import field_errors


class RpcCode(IntEnum):
    """The google.rpc.Code values this dialect answers with."""

    UNKNOWN = 2  # an HTTP error with no better code
    INVALID_ARGUMENT = 3  # bad input; the message names the field
    NOT_FOUND = 5  # no such model (or not visible to this key)
    ALREADY_EXISTS = 6  # modelName (or apiKey) taken
    PERMISSION_DENIED = 7  # authenticated, but this token may not do it
    RESOURCE_EXHAUSTED = 8  # request body too large
    FAILED_PRECONDITION = 9  # valid input, wrong state (e.g. the model is being deleted)
    UNIMPLEMENTED = 12  # no such method on this path
    INTERNAL = 13  # a bug; the server log has the details
    UNAVAILABLE = 14  # try again later
    UNAUTHENTICATED = 16  # no token, or one that matches nothing


HTTP_STATUS: Mapping[RpcCode, int] = {
    RpcCode.UNKNOWN: 500,
    RpcCode.INVALID_ARGUMENT: 400,
    RpcCode.NOT_FOUND: 404,
    RpcCode.ALREADY_EXISTS: 409,
    RpcCode.PERMISSION_DENIED: 403,
    RpcCode.RESOURCE_EXHAUSTED: 429,
    RpcCode.FAILED_PRECONDITION: 400,
    RpcCode.UNIMPLEMENTED: 501,
    RpcCode.INTERNAL: 500,
    RpcCode.UNAVAILABLE: 503,
    RpcCode.UNAUTHENTICATED: 401,
}

_DOMAIN_CODES = plumbing.per_kind(
    not_found=RpcCode.NOT_FOUND,
    conflict=RpcCode.ALREADY_EXISTS,
    invalid_spec=RpcCode.INVALID_ARGUMENT,
    forbidden=RpcCode.PERMISSION_DENIED,
    unauthorized=RpcCode.UNAUTHENTICATED,
    permanent=RpcCode.FAILED_PRECONDITION,
    temporary=RpcCode.UNAVAILABLE,
    quota_exceeded=RpcCode.RESOURCE_EXHAUSTED,
)

_HTTP_CODES: Mapping[int, RpcCode] = {
    400: RpcCode.INVALID_ARGUMENT,
    401: RpcCode.UNAUTHENTICATED,
    403: RpcCode.PERMISSION_DENIED,
    404: RpcCode.NOT_FOUND,
    405: RpcCode.UNIMPLEMENTED,
    413: RpcCode.RESOURCE_EXHAUSTED,
}

# Where a spec field comes from in a Tensormesh request (longest prefix wins).
_SPEC_FIELDS: Sequence[tuple[str, str]] = (
    ("spec.engine_args.", "modelSpec.engineArgs."),
    ("spec.engine_args", "modelSpec.engineArgs"),
    ("spec.model.", "modelPath"),
    ("spec.resources.gpu_count", "gpuCount"),
    ("spec.resources.gpu_type", "gpuType"),
    ("spec.env", "hfToken"),
    ("spec.description", "description"),
    ("spec.framework", "modelSpec.engine"),
    ("spec.replicas", "modelSpec.replicas"),
    ("name", "modelName"),
    ("secret", "apiKey"),
)


class TensormeshError(Exception):
    """An error answered as-is: the dialect's own checks raise it."""

    def __init__(self, code: RpcCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(field: str, problem: str) -> TensormeshError:
    return TensormeshError(RpcCode.INVALID_ARGUMENT, f"{field}: {problem}")


def tensormesh_field(field: str) -> str:
    """A Modelport field path ("spec.resources.gpu_count") in Tensormesh's words ("gpuCount")."""
    for ours, theirs in _SPEC_FIELDS:
        if field == ours.rstrip(".") or field.startswith(ours):
            return theirs + field[len(ours) :] if theirs.endswith(".") else theirs
    return "modelSpec" if field.startswith("spec") else field


def translated(exc: ModelportError) -> TensormeshError:
    """A domain error with its field named the Tensormesh way."""
    kind = plumbing.domain_kind(exc)
    code = RpcCode.INTERNAL if kind is None else _DOMAIN_CODES[kind]
    message = exc.message
    if exc.field:
        ours = exc.field
        message = f"{tensormesh_field(ours)}: {message.removeprefix(f'{ours}: ')}"
    return TensormeshError(code, message)


def rpc_response(
    code: RpcCode,
    message: str,
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"code": int(code), "message": message, "details": []}
    return JSONResponse(body, status_code=status or HTTP_STATUS[code], headers=headers)


def _domain(exc: ModelportError, _kind: plumbing.DomainKind) -> JSONResponse:
    error = translated(exc)
    return rpc_response(error.code, error.message)


def validation_error_response(raw: Sequence[Any]) -> JSONResponse:
    malformed = plumbing.malformed_json(raw)
    if malformed is not None:
        return rpc_response(RpcCode.INVALID_ARGUMENT, malformed)
    errors = field_errors([_drop_location(e) for e in raw])
    message = "; ".join(e.message for e in errors[:5]) or "body: invalid request"
    return rpc_response(RpcCode.INVALID_ARGUMENT, message)


def _drop_location(error: Mapping[str, Any]) -> dict[str, Any]:
    loc = plumbing.without_location(error.get("loc", ()))
    if loc == ("body",):
        msg = "a JSON object is required" if error.get("type") != "missing" else "required"
        return {**error, "loc": loc, "msg": msg}
    return {**error, "loc": loc}


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, RpcCode.UNKNOWN)
    return rpc_response(code, str(exc.detail), status=exc.status_code, headers=exc.headers)


ENVELOPE = plumbing.Envelope(
    domain=_domain,
    validation=validation_error_response,
    http=http_error_response,
    unexpected=lambda: rpc_response(RpcCode.INTERNAL, plumbing.INTERNAL_MESSAGE),
)


def install_error_handlers(app: FastAPI) -> None:
    """Every failure as a google.rpc.Status, the last-resort 500 included."""
    plumbing.install_error_handlers(app, ENVELOPE)
    plumbing.handle(app, TensormeshError, lambda exc: rpc_response(exc.code, exc.message))
    app.add_middleware(plumbing.CatchUnexpected, envelope=ENVELOPE)
