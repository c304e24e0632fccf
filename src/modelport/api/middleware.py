"""Pure ASGI middleware: a request body limit, and a last-resort 500 in the error envelope."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.api import error_plumbing
from modelport.api.errors import ENVELOPE


class BodyTooLarge(HTTPException):
    """Raised from `receive`; an HTTPException so FastAPI's body reader passes it through."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"body: larger than the {limit}-byte limit")


class BodySizeLimit:
    """413 for bodies over `max_bytes`: by Content-Length up front, else by counting chunks."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        seen = 0

        async def counted_receive() -> Message:
            # Raised where the app reads the body, so the app that owns the path (the native
            # API or a mounted dialect) answers in its own envelope; an oversized declared
            # length is refused before a byte of it is read.
            if declared is not None and declared > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, counted_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class CatchUnexpected(error_plumbing.CatchUnexpected):
    """The last-resort 500 (or a stray HTTP error, like the body limit) in the native envelope;
    the mechanics and what is logged are error_plumbing's."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, ENVELOPE)
