"""Tensormesh's error envelope: google.rpc.Status JSON `{code, message, details}` as gRPC-gateway
renders it, with the HTTP status gRPC-gateway uses for each code. A message names its field in
Tensormesh's spelling (`gpuCount`, `infra.cloudProvider`). Bodies and headers are never echoed
or logged: they may hold apiKey or hfToken.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from enum import IntEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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

_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})


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

_DOMAIN_CODES: Sequence[tuple[type[ModelportError], RpcCode]] = (
    (NotFound, RpcCode.NOT_FOUND),
    (Conflict, RpcCode.ALREADY_EXISTS),
    (InvalidSpec, RpcCode.INVALID_ARGUMENT),
    (Forbidden, RpcCode.PERMISSION_DENIED),
    (Unauthorized, RpcCode.UNAUTHENTICATED),
    (PermanentError, RpcCode.FAILED_PRECONDITION),
    (TemporaryError, RpcCode.UNAVAILABLE),
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
    code = next((c for cls, c in _DOMAIN_CODES if isinstance(exc, cls)), RpcCode.INTERNAL)
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


def domain_error_response(exc: ModelportError) -> JSONResponse:
    error = translated(exc)
    if error.code is RpcCode.INTERNAL:  # IllegalTransition and the like: a bug
        log.error("unexpected %s", type(exc).__name__, exc_info=exc)
        return rpc_response(RpcCode.INTERNAL, "internal error; the server log has the details")
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TemporaryError):
        headers["Retry-After"] = str(max(1, math.ceil(exc.delay)))
    return rpc_response(error.code, error.message, headers=headers)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    raw = list(exc.errors())
    bad_json = next((e for e in raw if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        reason = bad_json.get("ctx", {}).get("error", "cannot be parsed")
        return rpc_response(RpcCode.INVALID_ARGUMENT, f"body: malformed JSON ({reason})")
    errors = field_errors([_drop_location(e) for e in raw])
    message = "; ".join(e.message for e in errors[:5]) or "body: invalid request"
    return rpc_response(RpcCode.INVALID_ARGUMENT, message)


def _drop_location(error: Mapping[str, Any]) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    if len(loc) > 1 and loc[0] in _LOCATIONS:
        loc = loc[1:]
    if loc == ("body",):
        msg = "a JSON object is required" if error.get("type") != "missing" else "required"
        return {**error, "loc": loc, "msg": msg}
    return {**error, "loc": loc}


def http_error_response(exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, RpcCode.UNKNOWN)
    return rpc_response(code, str(exc.detail), status=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    async def on_tensormesh(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TensormeshError)
        return rpc_response(exc.code, exc.message)

    async def on_domain(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ModelportError)
        return domain_error_response(exc)

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error_response(exc)

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return http_error_response(exc)

    app.add_exception_handler(TensormeshError, on_tensormesh)
    app.add_exception_handler(ModelportError, on_domain)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


class CatchUnexpected:
    """Any exception no handler mapped becomes code 13 INTERNAL; the traceback goes to the log
    with the method and path only (never headers or bodies)."""

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
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = rpc_response(
                RpcCode.INTERNAL, "internal error; the server log has the details"
            )
            await response(scope, receive, send)
