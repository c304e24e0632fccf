"""Gateway.handle driven in process: a real SqlStore on SQLite, a real route table, and a
recording `ClientSide` (our seam) in place of a network client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from modelport.clock import SystemClock
from modelport.domain.records import ReplicaHandle, Role
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import ReplicaState
from modelport.gateway.app import Gateway, create_gateway
from modelport.gateway.async_hook import AsyncIntake
from modelport.gateway.balancing import Balancer
from modelport.gateway.downstream import Headers
from modelport.gateway.hold import DemandHook, no_demand_hook
from modelport.gateway.incoming import ClientGone
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.gateway.upstream import ClientLeft, UpstreamConnection
from modelport.services.auth import Authenticator
from modelport.settings import Settings
from modelport.store.repositories import SqlStore, open_store
from tests.support.routing import make_token

PENDING, STARTING, READY, FAILED = (
    ReplicaState.PENDING, ReplicaState.STARTING, ReplicaState.READY, ReplicaState.FAILED,
)  # fmt: skip


@dataclass
class Recorded:
    """What reached the client; `leave()` makes it disconnect as a real one would."""

    body_in: bytes = b""
    status: int = 0
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    gone: bool = False
    _watched: Any = None

    async def read_body(self, declared: int | None, limit: int) -> bytes:
        if self.gone:
            raise ClientGone
        return self.body_in

    def watch(self, upstream: UpstreamConnection | None) -> None:
        if upstream is not None and self.gone:
            raise ClientLeft
        self._watched = upstream

    def leave(self) -> None:
        self.gone = True
        if self._watched is not None:
            self._watched.client_gone()

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body
        self.answered.set()

    async def start(self, status: int, headers: Headers) -> None:
        self.status, self.headers = status, headers

    async def send(self, chunk: bytes) -> None:
        self.body += chunk

    async def end(self) -> None:
        self.answered.set()

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key == name), None)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Harness:
    store: SqlStore
    routes: RouteTable
    gateway: Gateway
    token: str
    project_id: int

    def add_endpoint(self, name: str, spec: EndpointSpec) -> int:
        return self.store.create_endpoint(self.project_id, name, spec, spec.model_dump_json()).id

    def ready_replica(self, endpoint_id: int, port: int) -> None:
        """A replica taken through the real transitions to READY on `port`."""
        replica = self._started(endpoint_id, port)
        self.store.transition_replica(replica, STARTING, READY, now=datetime.now(UTC))

    def crashed_replica(self, endpoint_id: int) -> None:
        """A replica that started and crashed (FAILED, one restart counted)."""
        replica = self._started(endpoint_id, 9)
        self.store.transition_replica(
            replica, STARTING, FAILED, now=datetime.now(UTC), count_restart=True
        )

    def _started(self, endpoint_id: int, port: int) -> int:
        now = datetime.now(UTC)
        replica = self.store.create_replica(endpoint_id, 1, now).id
        handle = ReplicaHandle(backend="local", host="127.0.0.1", port=port)
        self.store.transition_replica(replica, PENDING, STARTING, now=now, handle=handle)
        return replica

    def scope(
        self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> dict[str, Any]:
        raw, _, query = path.partition("?")
        auth = (b"authorization", f"Bearer {self.token}".encode())
        return {
            "method": method, "path": raw, "raw_path": raw.encode(),
            "query_string": query.encode(), "headers": [auth, *headers],
            "client": ("127.0.0.1", 5000), "scheme": "http",
        }  # fmt: skip

    async def call(
        self, method: str, path: str, body: bytes = b"", headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> Recorded:
        client = Recorded(body_in=body)
        await self.gateway.handle(self.scope(method, path, headers), client)
        return client


@asynccontextmanager
async def harness(
    tmp_path: Path,
    *,
    intake: AsyncIntake | None = None,
    on_demand: DemandHook = no_demand_hook,
    hold_timeout: float = 5.0,
) -> AsyncIterator[Harness]:
    store = open_store(f"sqlite:///{tmp_path / 'gw.db'}")
    project_id = store.create_project("team").id
    routes = RouteTable()
    settings = Settings(home=tmp_path, hold_timeout=hold_timeout, upstream_timeout=10)
    gateway = create_gateway(
        store, Authenticator(store, SystemClock()), routes, Balancer(), GatewayMetrics(), settings,
        async_intake=intake, on_demand=on_demand,
    )  # fmt: skip
    await gateway.startup()
    try:
        yield Harness(
            store, routes, gateway, make_token(store, project_id, Role.VIEWER), project_id
        )
    finally:
        await gateway.shutdown()
        store.close()


@asynccontextmanager
async def echo_upstream() -> AsyncIterator[int]:
    """A stand-in engine on a loopback port: answers 200 with the path it was asked for."""

    async def echo(request: web.Request) -> web.Response:
        return web.json_response({"path": request.path})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()
