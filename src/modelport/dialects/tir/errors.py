"""Every error of the TIR dialect in TIR's envelope, with the field at fault named.

Bad input is a 400 (as TIR answers it); a missing or wrong token 401; a role that may not act
403; an endpoint or project the caller cannot see 404; a clash with current state 409. Request
bodies and headers are never logged or echoed: they may hold secrets. The mechanics are
api/error_plumbing.py's; this module only shapes TIR's answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelport.api import error_plumbing as plumbing
from modelport.dialects.tir.envelope import failure, field_failure
from modelport.domain.errors import ModelportError
from modelport.services.validation import field_errors

# Bad input is a 400, as TIR answers it (the native API says 422).
_DOMAIN_STATUS = plumbing.per_kind(
    not_found=404,
    conflict=409,
    invalid_spec=400,
    forbidden=403,
    unauthorized=401,
    permanent=400,
    temporary=503,
    quota_exceeded=429,
)


def _domain(exc: ModelportError, kind: plumbing.DomainKind) -> JSONResponse:
    return field_failure(_DOMAIN_STATUS[kind], exc.field, exc.message)


def _validation(raw: Sequence[Any]) -> JSONResponse:
    malformed = plumbing.malformed_json(raw)
    if malformed is not None:
        return failure(400, malformed, {"body": [malformed]})
    found = field_errors([_drop_location(e) for e in raw])
    errors: dict[str, list[str]] = {}
    for error in found:
        errors.setdefault(error.field or "non_field_errors", []).append(error.message)
    return failure(400, plumbing.summary([e.message for e in found], "invalid request"), errors)


def _drop_location(error: Mapping[str, Any]) -> dict[str, Any]:
    """("body", "replica") -> ("replica",); ("query", "project_id") -> ("project_id",)."""
    loc = plumbing.without_location(error.get("loc", ()))
    if loc == ("body",) and error.get("type") == "value_error":
        loc = ()  # a rule across the body's fields: its message names the field
    msg = error.get("msg")
    if error.get("type") == "missing":
        msg = "required" if loc != ("body",) else "a JSON request body is required"
    return {**error, "loc": loc, "msg": msg}


def _http(exc: StarletteHTTPException) -> JSONResponse:
    message = str(exc.detail)
    field = "body" if exc.status_code == 413 else None
    return failure(exc.status_code, message, {field: [message]} if field else None)


ENVELOPE = plumbing.Envelope(
    domain=_domain,
    validation=_validation,
    http=_http,
    unexpected=lambda: failure(500, plumbing.INTERNAL_MESSAGE),
)


def install_error_handlers(app: FastAPI) -> None:
    """Every failure in TIR's envelope, the last-resort 500 included."""
    plumbing.install_error_handlers(app, ENVELOPE)
    app.add_middleware(plumbing.CatchUnexpected, envelope=ENVELOPE)
