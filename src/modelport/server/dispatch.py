"""Path-level ASGI dispatch: the gateway's hot path never goes through FastAPI's router."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from modelport.gateway.asgi import ASGIApp, Receive, Scope, Send
from modelport.gateway.families import FAMILY_KEY, classify
from modelport.gateway.families import is_gateway_path as is_gateway_path  # for edge.py, tests


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
        elif kind == "http" and (family := classify(scope["path"])) is not None:
            scope[FAMILY_KEY] = family  # the gateway does not classify it again
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
