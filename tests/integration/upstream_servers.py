"""Loopback HTTP servers scripted byte by byte, and an ASGI client stand-in, for upstream tests.

A raw asyncio server (not a framework) so a test decides exactly what goes on the wire:
framing, interim responses, when a connection closes, how long an answer takes.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[["Exchange"], Awaitable[None]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Exchange:
    """One request as the scripted server saw it, and the means to answer it."""

    head: bytes
    body: bytes
    index: int  # 0 for the first request on this connection
    connection: int  # 0 for the first connection the server accepted
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def header(self, name: str) -> str | None:
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


@dataclass
class ScriptedServer:
    handler: Handler
    port: int = 0
    accepted: int = 0
    exchanges: list[Exchange] = field(default_factory=list)
    closed_by_peer: list[int] = field(default_factory=list)  # connections the client ended
    _server: asyncio.Server | None = None
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = self.accepted
        self.accepted += 1
        self._writers.append(writer)
        index = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    self.closed_by_peer.append(connection)
                    return
                exchange = Exchange(head, b"", index, connection, reader, writer)
                length = int(exchange.header("content-length") or 0)
                exchange.body = await reader.readexactly(length) if length else b""
                self.exchanges.append(exchange)
                await self.handler(exchange)
                if writer.is_closing():
                    return
                index += 1
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()


def response(body: bytes, status: str = "200 OK", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@dataclass
class FakeClient:
    """The ASGI side of the proxy: records what it is sent, disconnects on demand."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    on_body: Callable[[bytes], None] | None = None

    async def receive(self) -> dict[str, Any]:
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and self.on_body is not None:
            self.on_body(message.get("body", b""))

    @property
    def status(self) -> int:
        return int(self.messages[0]["status"])

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.messages[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages[1:])

    @property
    def finished(self) -> bool:
        return bool(self.messages) and not self.messages[-1].get("more_body", False)
