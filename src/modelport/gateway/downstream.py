"""The client side of one gateway request, whichever server carries it.

The gateway's request handling (`app.Gateway.handle`) and the proxy talk to the client only
through `ClientSide`: read the body, answer whole, or stream a response. Two implementations:

- `AsgiClient`: ASGI `receive` / `send` (uvicorn's request cycle, the fallback path);
- `fast_exchange.FastExchange`: bytes straight on the client's transport, no ASGI (the default
  in `modelport server`, see `server/fast_protocol.py`).

Headers are lower-case `(name, value)` byte pairs. `respond` and `start` frame the body: a
`content-length` among the headers is kept and the body passes as is; without one the server
frames it (chunked), except for HEAD and 204 / 304 answers, which have no body.
"""

from __future__ import annotations

from typing import Protocol

from modelport.gateway.asgi import Receive, Send
from modelport.gateway.incoming import read_body
from modelport.gateway.upstream import UpstreamConnection

Headers = list[tuple[bytes, bytes]]


class ClientSide(Protocol):
    async def read_body(self, declared: int | None, limit: int) -> bytes:
        """The whole request body; BodyTooLarge over `limit`, ClientGone if the client left."""
        ...

    def watch(self, upstream: UpstreamConnection | None) -> None:
        """While `upstream` serves this request, the client leaving must end it (ClientLeft);
        None when that exchange is over (the connection may go back to the pool)."""
        ...

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        """A whole response."""
        ...

    async def start(self, status: int, headers: Headers) -> None:
        """The head of a streamed response; `send` the body, then `end`."""
        ...

    async def send(self, chunk: bytes) -> None: ...

    async def end(self) -> None: ...


class AsgiClient:
    """`ClientSide` over ASGI receive / send."""

    __slots__ = ("_receive", "_send")

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send

    async def read_body(self, declared: int | None, limit: int) -> bytes:
        return await read_body(self._receive, declared, limit)

    def watch(self, upstream: UpstreamConnection | None) -> None:
        if upstream is not None:
            # Listened on by a watcher task, started for streams and for slow answers only.
            upstream.receive = self._receive

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def start(self, status: int, headers: Headers) -> None:
        await self._send({"type": "http.response.start", "status": status, "headers": headers})

    async def send(self, chunk: bytes) -> None:
        await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def end(self) -> None:
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})
