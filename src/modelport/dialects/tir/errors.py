"""Every error of the TIR dialect in TIR's envelope, with the field at fault named.

Bad input is a 400 (as TIR answers it); a missing or wrong token 401; a role that may not act
403; an endpoint or project the caller cannot see 404; a clash with current state 409. Request
bodies and headers are never logged or echoed: they may hold secrets.
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.dialects.tir.envelope import failure, field_failure
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
from modelport.services.validation import field_errors

log = logging.getLogger(__name__)

INTERNAL_MESSAGE = "internal error; the server log has the details"
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})

# Most specific first: the first isinstance match wins.
_DOMAIN_STATUS: Sequence[tuple[type[ModelportError], int]] = (
    (NotFound, 404),
    (Conflict, 409),
    (InvalidSpec, 400),
    (Forbidden, 403),
    (Unauthorized, 401),
    (PermanentError, 400),
    (TemporaryError, 503),
)


def domain_failure(exc: ModelportError) -> JSONResponse:
    status = next((s for cls, s in _DOMAIN_STATUS if isinstance(exc, cls)), None)
    if status is None:  # IllegalTransition and the like: a bug, not the caller's fault
        log.error("unexpected %s", type(exc).__name__, exc_info=exc)
        return failure(500, INTERNAL_MESSAGE)
    response = field_failure(status, exc.field, exc.message)
    if isinstance(exc, Unauthorized):
        response.headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TemporaryError):
        response.headers["Retry-After"] = str(max(1, math.ceil(exc.delay)))
    return response


def validation_failure(exc: RequestValidationError) -> JSONResponse:
    raw = list(exc.errors())
    broken = next((e for e in raw if e.get("type") == "json_invalid"), None)
    if broken is not None:
        reason = broken.get("ctx", {}).get("error", "cannot be parsed")
        message = f"body: malformed JSON ({reason})"
        return failure(400, message, {"body": [message]})
    found = field_errors([_drop_location(e) for e in raw])
    errors: dict[str, list[str]] = {}
    for error in found:
        errors.setdefault(error.field or "non_field_errors", []).append(error.message)
    message = "; ".join(e.message for e in found[:5]) or "invalid request"
    if len(found) > 5:
        message += f" (and {len(found) - 5} more)"
    return failure(400, message, errors)


def _drop_location(error: Mapping[str, Any]) -> dict[str, Any]:
    """("body", "replica") -> ("replica",); ("query", "project_id") -> ("project_id",)."""
    loc = tuple(error.get("loc", ()))
    if len(loc) > 1 and loc[0] in _LOCATIONS:
        loc = loc[1:]
    msg = error.get("msg")
    if error.get("type") == "missing":
        msg = "required" if loc != ("body",) else "a JSON request body is required"
    return {**error, "loc": loc, "msg": msg}


def install_error_handlers(app: FastAPI) -> None:
    async def on_domain(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ModelportError)
        return domain_failure(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_failure(exc)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail)
        field = "body" if exc.status_code == 413 else None
        return failure(exc.status_code, message, {field: [message]} if field else None)

    app.add_exception_handler(ModelportError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


class CatchUnexpected:
    """Anything no handler mapped becomes a 500 in TIR's envelope; only method and path are
    logged, never headers or bodies."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except StarletteHTTPException as exc:  # e.g. a body over the size limit
            if started:
                raise
            await failure(exc.status_code, str(exc.detail))(scope, receive, send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await failure(500, INTERNAL_MESSAGE)(scope, receive, send)
