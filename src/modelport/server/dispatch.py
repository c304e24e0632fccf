"""Path-level ASGI dispatch: the gateway's hot path never goes through FastAPI's router."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from modelport.domain.dialects import INFERENCE_PREFIXES

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The vendor dialects' inference bases (domain/dialects.py); the rest of each dialect's
# management prefix is its management API (a FastAPI app mounted on the API).
GATEWAY_PREFIXES = ("/endpoints/", "/v1/", *INFERENCE_PREFIXES)
GATEWAY_PATHS = frozenset({"/metrics"})


def is_gateway_path(path: str) -> bool:
    return path.startswith(GATEWAY_PREFIXES) or path in GATEWAY_PATHS


class Dispatcher:
    """Sends inference traffic to the gateway and everything else to the management API.

    Lifespan events are handled here (not by either app) so start-up and shutdown of the
    controller, the route table and the upstream connection pool happen in one place.
    """

    def __init__(
        self,
        gateway: ASGIApp,
        api: ASGIApp,
        on_startup: Callable[[], Awaitable[None]],
        on_shutdown: Callable[[], Awaitable[None]],
    ) -> None:
        self._gateway = gateway
        self._api = api
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "http" and is_gateway_path(scope["path"]):
            await self._gateway(scope, receive, send)
        else:
            await self._api(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._on_startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    raise
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return
