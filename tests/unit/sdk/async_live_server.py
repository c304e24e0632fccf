"""The native API *and* the gateway with its async intake and workers, on one origin, served by
uvicorn on a port: what submit/wait need (the plain live_server has no gateway).

No controller runs: a test adds a READY replica by hand (`ready_replica`) whose address is a
small real HTTP server (`EchoReplica`): it answers JSON echoing the request, and 400 for a path
ending in /bad (an engine 4xx, final at once). Without a replica, invocations stay queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.fernet import Fernet

from modelport.api.app import ApiServices, create_app
from modelport.clock import SystemClock
from modelport.domain.records import ReplicaHandle
from modelport.domain.states import ReplicaState
from modelport.gateway.app import create_gateway
from modelport.gateway.balancing import Balancer
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.invocations.wiring import build_async
from modelport.sdk import Client
from modelport.security.secrets import SecretBox
from modelport.server.dispatch import Dispatcher
from modelport.services.auth import Authenticator
from modelport.services.bootstrap import ensure_bootstrap
from modelport.services.invocations import results_in
from modelport.settings import Settings
from modelport.store import open_store
from tests.unit.sdk.live_server import WEB_SPEC, LiveServer, free_port, serving

# An endpoint the API accepts without an engine, with async intake on.
ASYNC_SPEC = {
    "framework": "custom",
    "command": ["python", "-m", "http.server", "{port}"],
    "async_config": {"enabled": True, "concurrent_workers": 2},
}


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        status = 400 if self.path.endswith("/bad") else 200
        answer = json.dumps({"path": self.path, "echo": json.loads(body or b"null")}).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def echo_replica() -> Iterator[int]:
    """A real HTTP server on a free port; yields the port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=httpd.serve_forever, name="echo-replica", daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


@dataclass
class AsyncLiveServer(LiveServer):
    def ready_replica(self, name: str, port: int) -> None:
        """A replica of `name` taken through the real transitions to READY on `port`."""
        replica = self.add_replica(name)
        now = self.clock.now()
        handle = ReplicaHandle(backend="local", host="127.0.0.1", port=port)
        self.store.transition_replica(
            replica.id, ReplicaState.PENDING, ReplicaState.STARTING, now=now, handle=handle
        )
        self.store.transition_replica(
            replica.id, ReplicaState.STARTING, ReplicaState.READY, now=now
        )


@contextmanager
def async_live_server(tmp_path: Path) -> Iterator[AsyncLiveServer]:
    settings = Settings(
        home=tmp_path / "server-home",
        host="127.0.0.1",
        port=free_port(),
        route_refresh_interval=0.05,
    )
    settings.ensure_home()
    clock = SystemClock()
    store = open_store(settings.effective_database_url, clock)
    admin_token = ensure_bootstrap(store, settings)
    assert admin_token is not None
    routes, balancer, metrics = RouteTable(), Balancer(), GatewayMetrics()
    # As the server wires it: a create answers once the route table shows the endpoint, so a
    # test's next request finds it (without, a loaded machine answered 404 'no running endpoint').
    services = ApiServices.build(
        store, SecretBox(Fernet.generate_key()), clock, settings, routes_changed=routes.wait_fresh
    )
    assert services.invocations is not None and services.datasets is not None
    queued = build_async(
        store, clock, settings, services.invocations, results_in(services.datasets),
        routes, balancer, metrics,
    )  # fmt: skip
    authenticator = Authenticator(store, clock)
    gateway = create_gateway(
        store, authenticator, routes, balancer, metrics, settings, async_intake=queued.intake
    )
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def on_startup() -> None:
        await gateway.startup()
        await routes.refresh(store)
        tasks.append(asyncio.create_task(queued.workers.run(stop)))
        tasks.append(asyncio.create_task(routes.run(store, settings.route_refresh_interval, stop)))

    async def on_shutdown() -> None:
        stop.set()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=10)
        await gateway.shutdown()

    app = Dispatcher(
        gateway, create_app(services, authenticator, settings), on_startup, on_shutdown
    )
    try:
        with serving(app, settings, lifespan="on"):
            yield AsyncLiveServer(
                url=f"http://{settings.host}:{settings.port}",
                home=settings.home,
                settings=settings,
                store=store,
                admin_token=admin_token,
                clock=clock,
            )
    finally:
        store.close()


@contextmanager
def with_chat_endpoints(tmp_path: Path) -> Iterator[AsyncLiveServer]:
    """The server with endpoint "chat" (async on, no replica yet) and "sync" (async off)."""
    with async_live_server(tmp_path) as running:
        with Client(running.url, running.admin_token) as client:
            client.create_endpoint("chat", ASYNC_SPEC)
            client.create_endpoint("sync", WEB_SPEC)
        yield running
