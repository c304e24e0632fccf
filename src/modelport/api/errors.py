"""Every error the native API returns, mapped to HTTP in this one place.

The envelope is {"error": {"type", "message", "field", "details"}}; a message names its field.
Request bodies and headers are never echoed or logged: they may hold secrets.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelport.domain.errors import (
    Conflict,
    Forbidden,
    InvalidSpec,
    ModelportError,
    NotFound,
    PermanentError,
    TemporaryError,
    Unauthorized,
)
from modelport.schemas.native import ErrorBody, ErrorDetail, ErrorEnvelope
from modelport.services.validation import FieldError, field_errors

INVALID_REQUEST = "invalid_request"
INTERNAL_MESSAGE = "internal error; the server log has the details"

log = logging.getLogger(__name__)

# Most specific first: the first isinstance match wins.
_DOMAIN_ERRORS: Sequence[tuple[type[ModelportError], int, str]] = (
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (InvalidSpec, 422, INVALID_REQUEST),
    (Forbidden, 403, "forbidden"),
    (Unauthorized, 401, "unauthorized"),
    (PermanentError, 400, "bad_request"),
    (TemporaryError, 503, "unavailable"),
)

_HTTP_TYPES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}

_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})

# For OpenAPI: every route may answer with the envelope on these statuses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope} for status in (400, 401, 403, 404, 409, 413, 422)
}


def error_response(
    status: int,
    type_: str,
    message: str,
    *,
    field: str | None = None,
    details: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorEnvelope(
        error=ErrorBody(
            type=type_,
            message=message,
            field=field,
            details=[ErrorDetail(field=d.field, message=d.message) for d in details],
        )
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def internal_error_response() -> JSONResponse:
    return error_response(500, "internal_error", INTERNAL_MESSAGE)


def domain_error_response(exc: ModelportError) -> JSONResponse:
    mapped = next(((s, t) for cls, s, t in _DOMAIN_ERRORS if isinstance(exc, cls)), None)
    if mapped is None:  # IllegalTransition and the like: a bug, not the caller's fault
        log.error("unexpected %s", type(exc).__name__, exc_info=exc)
        return internal_error_response()
    status, type_ = mapped
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TemporaryError):
        headers["Retry-After"] = str(max(1, math.ceil(exc.delay)))
    return error_response(status, type_, exc.message, field=exc.field, headers=headers)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    raw = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in raw):
        detail = next(e for e in raw if e.get("type") == "json_invalid")
        reason = detail.get("ctx", {}).get("error", "cannot be parsed")
        message = f"body: malformed JSON ({reason})"
        return error_response(400, INVALID_REQUEST, message, field="body")
    found = [_drop_location(e) for e in raw]
    errors = field_errors(found)
    first = errors[0] if errors else FieldError("body", "body: invalid request")
    message = "; ".join(e.message for e in errors[:5]) or first.message
    if len(errors) > 5:
        message += f" (and {len(errors) - 5} more)"
    return error_response(422, INVALID_REQUEST, message, field=first.field, details=errors)


def _drop_location(error: Mapping[str, Any]) -> dict[str, Any]:
    """("body", "spec", "replicas") -> ("spec", "replicas"); a bare ("body",) stays "body"."""
    loc = tuple(error.get("loc", ()))
    if len(loc) > 1 and loc[0] in _LOCATIONS:
        loc = loc[1:]
    if loc == ("body",) and error.get("type") == "missing":
        return {**error, "loc": loc, "msg": "a JSON request body is required"}
    return {**error, "loc": loc}


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    type_ = _HTTP_TYPES.get(exc.status_code, "http_error")
    field = "body" if exc.status_code == 413 else None
    return error_response(exc.status_code, type_, str(exc.detail), field=field, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ModelportError)
        return domain_error_response(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error_response(exc)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return http_error_response(exc)

    app.add_exception_handler(ModelportError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
