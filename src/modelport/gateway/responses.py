"""Responses the gateway writes itself, as raw ASGI messages, in the OpenAI error shape."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

JSON_TYPE = (b"content-type", b"application/json")


def request_id_header(request_id: str) -> tuple[bytes, bytes]:
    return (b"x-request-id", request_id.encode("ascii"))


async def send_body(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]],
) -> None:
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def send_json(
    send: Send,
    status: int,
    payload: object,
    request_id: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [JSON_TYPE, request_id_header(request_id), *(extra_headers or ())]
    await send_body(send, status, json.dumps(payload).encode(), headers)


async def send_error(
    send: Send,
    status: int,
    message: str,
    error_type: str,
    code: str,
    request_id: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """{"error": {"message", "type", "code"}}: what OpenAI clients know how to read."""
    payload = {"error": {"message": message, "type": error_type, "code": code}}
    await send_json(send, status, payload, request_id, extra_headers)
