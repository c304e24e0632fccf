"""Responses the gateway writes itself, in the OpenAI error shape."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelport.gateway.downstream import ClientSide

JSON_TYPE = (b"content-type", b"application/json")


def request_id_header(request_id: str) -> tuple[bytes, bytes]:
    return (b"x-request-id", request_id.encode("ascii"))


async def respond_body(
    client: ClientSide, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    await client.respond(status, headers, body)


async def respond_json(
    client: ClientSide,
    status: int,
    payload: object,
    request_id: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [JSON_TYPE, request_id_header(request_id), *(extra_headers or ())]
    await respond_body(client, status, json.dumps(payload).encode(), headers)


async def respond_error(
    client: ClientSide,
    status: int,
    message: str,
    error_type: str,
    code: str,
    request_id: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """{"error": {"message", "type", "code"}}: what OpenAI clients know how to read."""
    payload = {"error": {"message": message, "type": error_type, "code": code}}
    await respond_json(client, status, payload, request_id, extra_headers)
