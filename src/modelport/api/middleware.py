"""Pure ASGI middleware: request body limits (size, JSON depth), and a last-resort 500 in the
error envelope."""

from __future__ import annotations

import re

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.api import error_plumbing
from modelport.api.errors import ENVELOPE
from modelport.domain.json_depth import nesting_exceeds


class BodyTooLarge(HTTPException):
    """Raised from `receive`; an HTTPException so FastAPI's body reader passes it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: larger than the {limit}-byte limit")


class JsonTooDeep(HTTPException):
    """Raised from `receive` like BodyTooLarge: FastAPI's body reader passes it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(400, f"body: JSON nested deeper than {limit} levels")


class BodyLimits:
    """413 for bodies over `max_bytes`: by Content-Length up front, else by counting chunks.
    400 for a JSON body nested deeper than `max_json_depth`, checked on the bytes once the body
    is complete, before the app parses it (parsing and validating deep JSON recurses)."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_json_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_json_depth = max_json_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_file_upload(scope):
            await self.app(scope, receive, send)
            return
        declared, json_body = _body_headers(scope)
        seen = 0
        parts: list[bytes] = []  # the body so far, when it is JSON

        async def counted_receive() -> Message:
            # Raised where the app reads the body, so the app that owns the path (the native
            # API or a mounted dialect) answers in its own envelope; an oversized declared
            # length is refused before a byte of it is read.
            if declared is not None and declared > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                chunk: bytes = message.get("body", b"")
                seen += len(chunk)
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
                if json_body:
                    parts.append(chunk)
                    if not message.get("more_body", False):
                        body = parts[0] if len(parts) == 1 else b"".join(parts)
                        if nesting_exceeds(body, self.max_json_depth):
                            raise JsonTooDeep(self.max_json_depth)
            return message

        await self.app(scope, counted_receive, send)


# Model file uploads stream to the object store, never parsed or held whole: the route enforces
# the per-file and per-model limits (MODELPORT_MODEL_MAX_FILE_BYTES) as the bytes arrive.
_FILE_UPLOAD = re.compile(r"^/api/v1/models/[^/]+/files/.+")


def _is_file_upload(scope: Scope) -> bool:
    return scope.get("method") == "PUT" and _FILE_UPLOAD.match(scope.get("path", "")) is not None


def _body_headers(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length, and whether the body would be parsed as JSON (FastAPI
    parses a body without a content type as JSON too)."""
    length: int | None = None
    json_body = True
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif name == b"content-type":
            json_body = b"json" in value.lower()
    return length, json_body


class CatchUnexpected(error_plumbing.CatchUnexpected):
    """The last-resort 500 (or a stray HTTP error, like the body limit) in the native envelope;
    the mechanics and what is logged are error_plumbing's."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, ENVELOPE)
