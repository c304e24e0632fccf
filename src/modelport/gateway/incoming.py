"""What the gateway reads from a client's request: the path to forward, the body, its model."""

from __future__ import annotations

import json
from typing import Any

from modelport.domain.json_depth import nesting_exceeds
from modelport.gateway.asgi import Receive, Scope


class ClientGone(Exception):
    """The client disconnected while sending its request."""


class BodyTooLarge(Exception):
    pass


class BadRequest(Exception):
    """The gateway answers 400 with `code` (gateway/refusals.py)."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class MethodNotAllowed(BadRequest):
    """The path takes another method: 405."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "method_not_allowed")


def raw_path(scope: Scope) -> bytes:
    """The path as the client sent it (percent-encoding kept), without the query."""
    raw: bytes | None = scope.get("raw_path")
    return raw or scope["path"].encode()


def with_query(path: bytes, scope: Scope) -> str:
    """`path` plus the request's query string, as the upstream request target."""
    query: bytes = scope.get("query_string", b"")
    return (path + b"?" + query if query else path).decode("latin-1")


async def read_body(receive: Receive, declared: int | None, limit: int) -> bytes:
    """The whole body, refusing more than `limit` bytes (declared or actually sent)."""
    if declared is not None and declared > limit:
        raise BodyTooLarge
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientGone
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):  # the common case: one message
        if len(body) > limit:
            raise BodyTooLarge
        return body
    parts = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


def parse_model(body: bytes, max_depth: int = 64) -> tuple[dict[str, Any], str]:
    """The JSON object and its non-empty string `model`; BadRequest naming what is wrong.
    Nesting deeper than `max_depth` is refused before parsing (no RecursionError, no 500)."""
    if nesting_exceeds(body, max_depth):
        raise BadRequest(
            f"the request body nests JSON deeper than {max_depth} levels", "json_too_deep"
        )
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadRequest("the request body is not valid JSON", "invalid_json") from None
    model = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(model, str) or not model:
        raise BadRequest("'model' is required: the name of one of your endpoints", "model_required")
    return payload, model


def with_model(payload: dict[str, Any], body: bytes, model: str) -> bytes:
    """`body` with its `model` set to `model`: the same bytes when it already is."""
    if payload["model"] == model:
        return body
    return json.dumps({**payload, "model": model}).encode()  # \u-escapes: always valid UTF-8
