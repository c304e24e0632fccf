"""The error mechanics every API shares; each API supplies only its envelope.

The native API and each dialect answer the same failures (a domain error, invalid input, an
HTTP error, a bug) in their own JSON shape. The plumbing lives here once: which domain error is
which, the WWW-Authenticate / Retry-After headers, the exception handlers and the last-resort
500. Only the method and path are ever logged: headers and bodies may hold tokens.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.domain.errors import (
    Conflict,
    Forbidden,
    InvalidSpec,
    ModelportError,
    NotFound,
    PermanentError,
    QuotaExceeded,
    TemporaryError,
    Unauthorized,
)

INTERNAL_MESSAGE = "internal error; the server log has the details"

DomainKind = type[ModelportError]
# Most specific first: the first isinstance match wins. Every envelope maps each of these.
DOMAIN_KINDS: Sequence[DomainKind] = (
    NotFound,
    Conflict,
    InvalidSpec,
    Forbidden,
    Unauthorized,
    PermanentError,
    TemporaryError,
    QuotaExceeded,
)

_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Exception)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Envelope:
    """How one API renders each kind of failure; the plumbing decides which applies."""

    domain: Callable[[ModelportError, DomainKind], Response]  # the kind from DOMAIN_KINDS
    validation: Callable[[Sequence[Any]], Response]  # pydantic's error dicts, unchanged
    http: Callable[[StarletteHTTPException], Response]
    unexpected: Callable[[], Response]  # a generic 500 that says nothing of the cause

    def for_domain(self, exc: ModelportError) -> Response:
        kind = domain_kind(exc)
        if kind is None:  # IllegalTransition and the like: a bug, not the caller's fault
            log.error("unexpected %s", type(exc).__name__, exc_info=exc)
            return self.unexpected()
        response = self.domain(exc, kind)
        response.headers.update(domain_headers(exc))
        return response


def per_kind(
    *,
    not_found: T,
    conflict: T,
    invalid_spec: T,
    forbidden: T,
    unauthorized: T,
    permanent: T,
    temporary: T,
    quota_exceeded: T,
) -> Mapping[DomainKind, T]:
    """An API's value (status, code, ...) for each domain kind; keyword-only and required, so
    an envelope cannot leave one out."""
    values = (
        not_found,
        conflict,
        invalid_spec,
        forbidden,
        unauthorized,
        permanent,
        temporary,
        quota_exceeded,
    )
    return dict(zip(DOMAIN_KINDS, values, strict=True))


def domain_kind(exc: ModelportError) -> DomainKind | None:
    return next((kind for kind in DOMAIN_KINDS if isinstance(exc, kind)), None)


def domain_headers(exc: ModelportError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TemporaryError):
        headers["Retry-After"] = str(max(1, math.ceil(exc.delay)))
    if isinstance(exc, QuotaExceeded):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
    return headers


def handle(app: FastAPI, kind: type[E], render: Callable[[E], Response]) -> None:
    """Answer `kind` (and subclasses without a handler of their own) with `render`."""

    async def handler(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, kind)
        return render(exc)

    app.add_exception_handler(kind, handler)


def install_error_handlers(app: FastAPI, envelope: Envelope) -> None:
    """Domain errors, invalid requests and HTTP errors in `envelope`. The last-resort 500 is
    the CatchUnexpected middleware, added by the caller (it decides the middleware order)."""
    handle(app, ModelportError, envelope.for_domain)
    handle(app, RequestValidationError, lambda exc: envelope.validation(exc.errors()))
    handle(app, StarletteHTTPException, envelope.http)


class CatchUnexpected:
    """Any exception no handler mapped becomes the envelope's 500; the traceback goes to the
    log with the method and path only. Once the response has started it can only re-raise."""

    def __init__(self, app: ASGIApp, envelope: Envelope) -> None:
        self.app = app
        self.envelope = envelope

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
        except StarletteHTTPException as exc:  # e.g. the body limit, hit outside a route
            if started:
                raise
            await self.envelope.http(exc)(scope, receive, send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await self.envelope.unexpected()(scope, receive, send)


# Helpers for validation renderers: the parts of pydantic's error list every envelope reads.


def malformed_json(errors: Sequence[Mapping[str, Any]]) -> str | None:
    """The message for a body that is not JSON at all ("body: malformed JSON (...)"), or None."""
    broken = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if broken is None:
        return None
    reason = broken.get("ctx", {}).get("error", "cannot be parsed")
    return f"body: malformed JSON ({reason})"


def without_location(loc: Sequence[Any]) -> tuple[Any, ...]:
    """("body", "spec", "replicas") -> ("spec", "replicas"); a bare ("body",) stays."""
    loc = tuple(loc)
    return loc[1:] if len(loc) > 1 and loc[0] in _LOCATIONS else loc


def summary(messages: Sequence[str], fallback: str) -> str:
    """The first five messages on one line, then how many more there are."""
    text = "; ".join(messages[:5]) or fallback
    if len(messages) > 5:
        text += f" (and {len(messages) - 5} more)"
    return text
