"""Every error the native API returns, mapped to HTTP in this one place.

The envelope is {"error": {"type", "message", "field", "details"}}; a message names its field.
Request bodies and headers are never echoed or logged: they may hold secrets. The mechanics
(handlers, headers, the last-resort 500) are shared with the dialects: api/error_plumbing.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from modelport.api import error_plumbing as plumbing
from modelport.domain.errors import ModelportError
from modelport.schemas.native import ErrorBody, ErrorDetail, ErrorEnvelope
from modelport.services.validation import FieldError, field_errors

INVALID_REQUEST = "invalid_request"

_DOMAIN_ERRORS = plumbing.per_kind(
    not_found=(404, "not_found"),
    conflict=(409, "conflict"),
    invalid_spec=(422, INVALID_REQUEST),
    forbidden=(403, "forbidden"),
    unauthorized=(401, "unauthorized"),
    permanent=(400, "bad_request"),
    temporary=(503, "unavailable"),
    quota_exceeded=(429, "quota_exceeded"),
)

_HTTP_TYPES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    431: "headers_too_large",
    503: "unavailable",
}

# For OpenAPI: every route may answer with the envelope on these statuses.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope} for status in (400, 401, 403, 404, 409, 413, 422, 429)
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
    return error_response(500, "internal_error", plumbing.INTERNAL_MESSAGE)


def _domain(exc: ModelportError, kind: plumbing.DomainKind) -> JSONResponse:
    status, type_ = _DOMAIN_ERRORS[kind]
    return error_response(status, type_, exc.message, field=exc.field)


def validation_error_response(raw: Sequence[Any]) -> JSONResponse:
    malformed = plumbing.malformed_json(raw)
    if malformed is not None:
        return error_response(400, INVALID_REQUEST, malformed, field="body")
    errors = field_errors([_drop_location(e) for e in raw])
    first = errors[0] if errors else FieldError("body", "body: invalid request")
    message = plumbing.summary([e.message for e in errors], first.message)
    return error_response(422, INVALID_REQUEST, message, field=first.field, details=errors)


def _drop_location(error: Mapping[str, Any]) -> dict[str, Any]:
    """("body", "spec", "replicas") -> ("spec", "replicas"); a bare ("body",) stays "body"."""
    loc = plumbing.without_location(error.get("loc", ()))
    if loc == ("body",) and error.get("type") == "missing":
        return {**error, "loc": loc, "msg": "a JSON request body is required"}
    return {**error, "loc": loc}


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    type_ = _HTTP_TYPES.get(exc.status_code, "http_error")
    # Our own limits phrase their detail "body: ..." (size, JSON depth): name the field.
    field = "body" if str(exc.detail).startswith("body: ") else None
    return error_response(exc.status_code, type_, str(exc.detail), field=field, headers=exc.headers)


ENVELOPE = plumbing.Envelope(
    domain=_domain,
    validation=validation_error_response,
    http=http_error_response,
    unexpected=internal_error_response,
)


def domain_error_response(exc: ModelportError) -> Response:
    return ENVELOPE.for_domain(exc)


def install_error_handlers(app: FastAPI) -> None:
    """The handlers only: app.py adds CatchUnexpected itself, inside the body size limit."""
    plumbing.install_error_handlers(app, ENVELOPE)
