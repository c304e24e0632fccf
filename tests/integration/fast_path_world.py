"""What the fast-path tests share: a real uvicorn server with the fast-path protocol class, a
real SqlStore and token, and helpers for scripted loopback replicas."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from modelport.clock import SystemClock
from modelport.domain.ids import hash_token, new_token, token_display_prefix
from modelport.domain.records import Role
from modelport.domain.specs import EndpointSpec, Framework
from modelport.gateway.app import create_gateway
from modelport.gateway.balancing import Balancer
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.server.dispatch import Dispatcher
from modelport.server.edge import EdgeLimits
from modelport.server.fast_protocol import GatewayFastProtocol, fast_path_protocol
from modelport.services.auth import Authenticator
from modelport.settings import Settings
from modelport.store.repositories import open_store
from tests.integration.upstream_servers import Exchange, free_port, response
from tests.support.routing import ready_replica

MAX_BODY = 4 * 1024 * 1024
SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
SSE_HEAD += b"\r\n"


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


async def management(scope: Any, receive: Any, send: Any) -> None:
    """Where the dispatcher sends what is not gateway traffic (uvicorn's ASGI cycle)."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"api")]})
    await send({"type": "http.response.body", "body": scope["path"].encode()})


@dataclass
class World:
    port: int
    token: str
    metrics: GatewayMetrics
    balancer: Balancer
    add: Callable[[str, list[int]], Awaitable[None]]  # endpoint name, replica ports
    protocol: type[GatewayFastProtocol]  # the server's protocol class (its connection lists)

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection("127.0.0.1", self.port)

    def count(self, endpoint: str, code: int) -> float:
        key = f'modelport_gateway_requests_total{{code="{code}",endpoint="{endpoint}"}} '
        lines = self.metrics.render().decode().splitlines()
        return next((float(ln.split(" ")[-1]) for ln in lines if ln.startswith(key)), 0.0)


@asynccontextmanager
async def fast_path_world(tmp_path: Path, edge: EdgeLimits | None = None) -> AsyncIterator[World]:
    """The dispatcher (gateway + a management stand-in) on uvicorn with the fast-path protocol,
    a real store with one token; endpoints are added per test with `World.add`."""
    store = open_store(f"sqlite:///{tmp_path / 'gw.db'}")
    project = store.create_project("team").id
    secret = new_token()
    store.create_token(
        project, "t", Role.MEMBER, hash_token(secret), token_display_prefix(secret)
    )  # fmt: skip
    routes = RouteTable()
    spec = EndpointSpec(framework=Framework.CUSTOM, command=["serve", "{port}"])

    async def add(name: str, ports: list[int]) -> None:
        endpoint = store.create_endpoint(project, name, spec, spec.model_dump_json())
        for port in ports:
            ready_replica(store, endpoint.id, port)
        await routes.refresh(store)

    settings = Settings(
        home=tmp_path, max_body_bytes=MAX_BODY, upstream_timeout=30, hold_timeout=0.5
    )
    balancer, metrics = Balancer(), GatewayMetrics()
    auth = Authenticator(store, SystemClock())
    gateway = create_gateway(store, auth, routes, balancer, metrics, settings)
    await gateway.startup()
    app = Dispatcher(gateway, management, gateway.startup, gateway.shutdown)
    port = free_port()
    protocol = fast_path_protocol(gateway, edge)
    assert issubclass(protocol, GatewayFastProtocol)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", http=protocol,
        log_level="warning", access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield World(port, secret, metrics, balancer, add, protocol)
    finally:
        server.should_exit = True
        await serving
        await gateway.shutdown()
        store.close()


async def echo(exchange: Exchange) -> None:
    line = exchange.head.split(b"\r\n", 1)[0]
    await exchange.write(response(b"%s|%d|%s" % (line, len(exchange.body), exchange.body[:16])))
