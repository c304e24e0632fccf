"""A raw HTTP/1.1 client for tests that must control the wire: pipelining, half-sent bodies,
hanging up mid-response. Responses are read with their own framing (length or chunked)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-case names (the last one wins)
    body: bytes
    chunked: bool


def request(
    method: str,
    path: str,
    token: str | None = None,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: test"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    all_headers = dict(headers or {})
    if body and "Transfer-Encoding" not in all_headers:
        all_headers.setdefault("Content-Length", str(len(body)))
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), headers


async def read_response(reader: asyncio.StreamReader, head_only: bool = False) -> RawResponse:
    status, headers = await read_head(reader)
    while status == 100:
        status, headers = await read_head(reader)
    chunked = headers.get("transfer-encoding") == "chunked"
    if head_only or status in (204, 304):
        return RawResponse(status, headers, b"", chunked)
    if chunked:
        parts = []
        while size := int((await reader.readuntil(b"\r\n"))[:-2], 16):
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        await reader.readexactly(2)
        return RawResponse(status, headers, b"".join(parts), chunked)
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
        return RawResponse(status, headers, body, chunked)
    return RawResponse(status, headers, await reader.read(), chunked)


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """One chunk of a chunked body (b"" for the last one)."""
    size = int((await reader.readuntil(b"\r\n"))[:-2], 16)
    data = await reader.readexactly(size) if size else b""
    await reader.readexactly(2)
    return data
