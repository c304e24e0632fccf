"""The gateway end to end: real uvicorn, real SqlStore on SQLite, real upstream HTTP servers.

Upstreams are small aiohttp apps on loopback that echo what reached them, so the tests see
exactly what an engine would see (headers, path, body). Every test runs twice: through uvicorn's
ASGI cycle and through the fast path (server/fast_protocol.py).
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiohttp import web

from modelport.clock import SystemClock
from modelport.domain.records import Role
from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import DesiredState
from modelport.gateway.app import create_gateway
from modelport.gateway.balancing import Balancer
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.server.fast_protocol import fast_path_protocol
from modelport.services.auth import Authenticator
from modelport.settings import Settings
from modelport.store.repositories import SqlStore, open_store
from tests.support.routing import make_token, ready_replica

HOLD_TIMEOUT = 0.5  # how long a request waits for a replica no test starts
MAX_BODY = 64 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Upstream:
    """A fake engine: echoes the request it got, streams SSE gated by the test."""

    tag: str
    port: int = 0
    seen_headers: list[dict[str, str]] = field(default_factory=list)
    sse_gates: list[asyncio.Event] = field(default_factory=list)
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/sse", self._sse)
        app.router.add_route("*", "/{tail:.*}", self._echo)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _echo(self, request: web.Request) -> web.Response:
        self.seen_headers.append(dict(request.headers))
        body = await request.read()
        return web.json_response(
            {
                "tag": self.tag,
                "method": request.method,
                "path_qs": request.raw_path,
                "body": body.decode(),
                "headers": {k.lower(): v for k, v in request.headers.items()},
            },
            headers={"X-Upstream": self.tag},
        )

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        """Three events; before each of the last two it waits until the test has seen the
        previous one. A gateway that buffers would deadlock here instead of streaming."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index in range(3):
            if index > 0:
                await asyncio.wait_for(self.sse_gates[index - 1].wait(), timeout=10)
                await asyncio.sleep(0.05)
            await response.write(f"data: event-{index}\n\n".encode())
        await response.write_eof()
        return response


@dataclass
class World:
    client: httpx.AsyncClient
    store: SqlStore
    routes: RouteTable
    alpha: Upstream
    beta: Upstream
    token_a: str
    token_b: str
    alpha_key: str  # inference key scoped to "alpha"
    project_a: int
    add_endpoint: Callable[[str, list[int]], Awaitable[int]]


@pytest.fixture(params=["asgi", "fast"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'gw.db'}")
    alpha, beta = Upstream("alpha"), Upstream("beta")
    await alpha.start()
    await beta.start()
    project_a = store.create_project("team-a").id
    project_b = store.create_project("team-b").id
    spec = EndpointSpec(framework=Framework.CUSTOM, command=["serve", "{port}"])
    routes = RouteTable()

    async def add_endpoint(name: str, ports: list[int], project_id: int = project_a) -> int:
        endpoint = store.create_endpoint(project_id, name, spec, spec.model_dump_json())
        for port in ports:
            ready_replica(store, endpoint.id, port)
        await routes.refresh(store)
        return endpoint.id

    alpha_id = await add_endpoint("alpha", [alpha.port])
    await add_endpoint("beta", [beta.port])
    await add_endpoint("hidden", [beta.port], project_b)
    settings = Settings(
        home=tmp_path, max_body_bytes=MAX_BODY, upstream_timeout=30, hold_timeout=HOLD_TIMEOUT
    )
    gateway = create_gateway(
        store, Authenticator(store, SystemClock()), routes, Balancer(), GatewayMetrics(), settings
    )
    await gateway.startup()
    port = free_port()
    http = fast_path_protocol(gateway) if request.param == "fast" else "httptools"
    config = uvicorn.Config(
        gateway, host="127.0.0.1", port=port, lifespan="off", http=http,
        log_level="warning", access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
        yield World(
            client, store, routes, alpha, beta,
            token_a=make_token(store, project_a, Role.VIEWER),
            token_b=make_token(store, project_b, Role.ADMIN),
            alpha_key=make_token(store, project_a, Role.VIEWER, alpha_id),
            project_a=project_a, add_endpoint=add_endpoint,
        )  # fmt: skip
    server.should_exit = True
    await serving
    await gateway.shutdown()
    await alpha.stop()
    await beta.stop()
    store.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def chat(model: str) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}]}


def assert_openai_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["x-request-id"]
    error = response.json()["error"]
    assert error["message"] and error["type"] and error["code"]


async def test_missing_or_bad_key_is_401(world: World) -> None:
    missing = await world.client.post("/v1/chat/completions", json=chat("alpha"))
    assert_openai_error(missing, 401)
    bad = await world.client.get("/endpoints/alpha/health", headers=bearer("mp_not-a-token"))
    assert_openai_error(bad, 401)
    assert not world.alpha.seen_headers


async def test_body_model_routes_to_that_endpoint(world: World) -> None:
    for model in ("alpha", "beta"):
        response = await world.client.post(
            "/v1/chat/completions?x=1", json=chat(model), headers=bearer(world.token_a)
        )
        assert response.status_code == 200
        echoed = response.json()
        assert echoed["tag"] == model
        assert echoed["path_qs"] == "/v1/chat/completions?x=1"
        assert json.loads(echoed["body"]) == chat(model)  # the same bytes, forwarded


async def test_endpoint_path_routing_forwards_the_tail(world: World) -> None:
    response = await world.client.post(
        "/endpoints/beta/v1/embeddings?dims=8", content=b"raw-bytes", headers=bearer(world.token_a)
    )
    assert response.status_code == 200
    echoed = response.json()
    assert (echoed["tag"], echoed["method"]) == ("beta", "POST")
    assert echoed["path_qs"] == "/v1/embeddings?dims=8"
    assert echoed["body"] == "raw-bytes"
    assert response.headers["x-upstream"] == "beta"


async def test_other_projects_and_unknown_endpoints_are_404(world: World) -> None:
    other = await world.client.post(
        "/v1/chat/completions", json=chat("hidden"), headers=bearer(world.token_a)
    )
    assert_openai_error(other, 404)
    across = await world.client.get("/endpoints/alpha/x", headers=bearer(world.token_b))
    assert_openai_error(across, 404)
    unknown = await world.client.get("/endpoints/nope/x", headers=bearer(world.token_a))
    assert_openai_error(unknown, 404)


async def test_endpoint_scoped_key_reaches_only_its_endpoint(world: World) -> None:
    own = await world.client.post(
        "/v1/chat/completions", json=chat("alpha"), headers=bearer(world.alpha_key)
    )
    assert own.status_code == 200
    other = await world.client.post(
        "/v1/chat/completions", json=chat("beta"), headers=bearer(world.alpha_key)
    )
    assert_openai_error(other, 404)
    listed = await world.client.get("/v1/models", headers=bearer(world.alpha_key))
    assert [m["id"] for m in listed.json()["data"]] == ["alpha"]


async def test_models_lists_the_callers_running_endpoints(world: World) -> None:
    response = await world.client.get("/v1/models", headers=bearer(world.token_a))
    assert response.status_code == 200
    listing = response.json()
    assert listing["object"] == "list"
    assert [(m["id"], m["object"], m["owned_by"]) for m in listing["data"]] == [
        ("alpha", "model", "team-a"),
        ("beta", "model", "team-a"),
    ]
    assert all(isinstance(m["created"], int) for m in listing["data"])
    beta = world.store.get_endpoint_by_name(world.project_a, "beta")
    world.store.update_endpoint(
        beta.id, expected_generation=None, desired_state=DesiredState.STOPPED
    )
    await world.routes.refresh(world.store)
    response = await world.client.get("/v1/models", headers=bearer(world.token_a))
    assert [m["id"] for m in response.json()["data"]] == ["alpha"]


async def test_authorization_never_reaches_the_engine(world: World) -> None:
    response = await world.client.post(
        "/endpoints/alpha/v1/completions",
        json={"prompt": "x"},
        headers={
            **bearer(world.token_a),
            "X-Request-Id": "client-id-42",
            "X-Custom": "dropped",
            "OpenAI-Beta": "kept",
        },
    )
    assert response.status_code == 200
    seen = response.json()["headers"]
    assert "authorization" not in seen
    assert "x-custom" not in seen  # only the allowlist reaches an engine (gateway/headers.py)
    assert seen["openai-beta"] == "kept"
    # The client's id is echoed; engines get a UUID-shaped one (llama.cpp insists) plus the
    # client's in X-Client-Request-Id.
    assert seen["x-client-request-id"] == "client-id-42"
    assert len(seen["x-request-id"]) == 32
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert response.headers["x-request-id"] == "client-id-42"


async def test_every_response_carries_a_request_id(world: World) -> None:
    ok = await world.client.get("/endpoints/alpha/", headers=bearer(world.token_a))
    denied = await world.client.get("/endpoints/alpha/")
    assert ok.headers["x-request-id"] and denied.headers["x-request-id"]
    assert ok.headers["x-request-id"] != denied.headers["x-request-id"]
    assert ok.json()["headers"]["x-request-id"] == ok.headers["x-request-id"]


async def test_sse_events_stream_one_by_one(world: World) -> None:
    world.alpha.sse_gates = [asyncio.Event(), asyncio.Event()]
    received: list[str] = []
    buffer = b""
    async with world.client.stream(
        "POST", "/endpoints/alpha/sse", json={"stream": True}, headers=bearer(world.token_a)
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for chunk in response.aiter_raw():
            buffer += chunk
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                received.append(event.decode())
                # The upstream sends the next event only after we have this one.
                if len(received) <= len(world.alpha.sse_gates):
                    world.alpha.sse_gates[len(received) - 1].set()
    assert received == ["data: event-0", "data: event-1", "data: event-2"]


async def test_refused_replica_is_retried_on_a_healthy_one(world: World) -> None:
    dead_port = free_port()  # nothing listens there: connection refused
    await world.add_endpoint("mixed", [dead_port, world.beta.port])
    for _ in range(6):
        response = await world.client.post(
            "/v1/completions", json=chat("mixed"), headers=bearer(world.token_a)
        )
        assert response.status_code == 200
        assert response.json()["tag"] == "beta"
    metrics = (await world.client.get("/metrics")).text
    assert 'modelport_gateway_upstream_retries_total{endpoint="mixed"}' in metrics


async def test_no_ready_replica_is_503_with_retry_after(world: World) -> None:
    # Held for a replica that never comes (gateway/hold.py), then refused with Retry-After.
    await world.add_endpoint("cold", [])
    response = await world.client.post(
        "/v1/chat/completions", json=chat("cold"), headers=bearer(world.token_a)
    )
    assert_openai_error(response, 503)
    assert response.headers["retry-after"] == "5"
    assert response.json()["error"]["code"] == "hold_timeout"
    await world.add_endpoint("dead", [free_port()])
    all_failed = await world.client.get("/endpoints/dead/x", headers=bearer(world.token_a))
    assert_openai_error(all_failed, 503)


async def test_bad_requests_get_openai_errors(world: World) -> None:
    too_big = await world.client.post(
        "/endpoints/alpha/x", content=b"x" * (MAX_BODY + 1), headers=bearer(world.token_a)
    )
    assert_openai_error(too_big, 413)
    no_model = await world.client.post(
        "/v1/chat/completions", json={"messages": []}, headers=bearer(world.token_a)
    )
    assert_openai_error(no_model, 400)
    not_json = await world.client.post(
        "/v1/chat/completions", content=b"{", headers=bearer(world.token_a)
    )
    assert_openai_error(not_json, 400)


async def test_metrics_show_per_endpoint_counters_and_latency(world: World) -> None:
    for _ in range(3):
        await world.client.post(
            "/v1/chat/completions", json=chat("alpha"), headers=bearer(world.token_a)
        )
    text = (await world.client.get("/metrics")).text
    assert 'modelport_gateway_requests_total{code="200",endpoint="alpha"} 3.0' in text
    assert 'modelport_gateway_request_duration_seconds_count{endpoint="alpha"} 3.0' in text
    assert 'modelport_gateway_inflight_requests{endpoint="alpha"} 0.0' in text
