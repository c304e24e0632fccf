"""Vendor inference URLs (TIR, DeepInfra, Tensormesh) through the real dispatcher and gateway.

Real uvicorn serving the server's Dispatcher (gateway + a stand-in management app), a real
SqlStore on SQLite, and real upstream HTTP servers on loopback that echo what reached them or
stream SSE one event at a time. A last test runs a real llama.cpp engine when it is installed.
Every test runs through uvicorn's ASGI cycle and through the fast path (server/fast_protocol.py).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from modelport.clock import SystemClock
from modelport.domain.launch import LaunchContext
from modelport.domain.records import Role
from modelport.domain.specs import EndpointSpec, Framework
from modelport.engines.llamacpp import LlamaCppAdapter
from modelport.gateway.app import Gateway, create_gateway
from modelport.gateway.balancing import Balancer
from modelport.gateway.metrics import GatewayMetrics
from modelport.gateway.routes import RouteTable
from modelport.runtime.local import LocalRuntime
from modelport.server.dispatch import Dispatcher
from modelport.server.fast_protocol import fast_path_protocol
from modelport.services.auth import Authenticator
from modelport.settings import Settings
from modelport.store.repositories import SqlStore, open_store
from tests.conftest import need
from tests.support.routing import make_token, ready_replica

ALPHA_EXT = {
    "deepinfra": {"model_name": "acme/alpha-chat", "deploy_id": "d1a2b3"},
    "tensormesh": {"modelName": "meta/alpha-tm"},
}
BETA_EXT = {"deepinfra": {"model_name": "acme/beta-chat", "deploy_id": "e4f5a6"}}
HIDDEN_EXT = {"deepinfra": {"model_name": "acme/hidden"}, "tensormesh": {"modelName": "hidden"}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Upstream:
    """A fake engine: echoes each request; a body with `"stream": true` gets three SSE events,
    the last two only after the test has seen the one before (a buffering gateway deadlocks)."""

    tag: str
    port: int = 0
    seen: list[str] = field(default_factory=list)  # path_qs of every request
    gates: list[asyncio.Event] = field(default_factory=list)
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request.raw_path)
        body = await request.read()
        try:
            streaming = json.loads(body).get("stream") is True
        except (ValueError, AttributeError):
            streaming = False
        if streaming:
            return await self._sse(request)
        return web.json_response(
            {
                "tag": self.tag,
                "method": request.method,
                "path_qs": request.raw_path,
                "body": body.decode(),
                "request_id": request.headers.get("X-Request-Id"),
                "authorization": request.headers.get("Authorization"),
                "headers": {k.lower(): v for k, v in request.headers.items()},
            }
        )

    async def _sse(self, request: web.Request) -> web.StreamResponse:
        self.gates = [asyncio.Event(), asyncio.Event()]
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for index in range(3):
            if index > 0:
                await asyncio.wait_for(self.gates[index - 1].wait(), timeout=10)
            await response.write(f"data: {self.tag}-{index}\n\n".encode())
        await response.write_eof()
        return response


async def management_stand_in(scope: Any, receive: Any, send: Any) -> None:
    """Where the dispatcher sends everything that is not gateway traffic."""
    body = json.dumps({"app": "management", "path": scope["path"]}).encode()
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class World:
    client: httpx.AsyncClient
    store: SqlStore
    alpha: Upstream
    beta: Upstream
    project_a: int
    project_b: int
    ids: dict[str, int]  # endpoint name -> id
    token_a: str
    token_b: str
    alpha_key: str  # inference key scoped to "alpha"


def _endpoint(
    store: SqlStore, project_id: int, name: str, ports: list[int], extensions: dict[str, Any]
) -> int:
    spec = EndpointSpec(framework=Framework.CUSTOM, command=["serve"], extensions=extensions)
    endpoint = store.create_endpoint(project_id, name, spec, spec.model_dump_json())
    for port in ports:
        ready_replica(store, endpoint.id, port)
    return endpoint.id


@pytest.fixture(params=["asgi", "fast"])
def path_kind(request: pytest.FixtureRequest) -> str:
    """Which way gateway requests go: uvicorn's ASGI cycle or the fast path."""
    return str(request.param)


@asynccontextmanager
async def serving(
    store: SqlStore, routes: RouteTable, tmp_path: Path, kind: str
) -> AsyncIterator[str]:
    """The dispatcher (gateway + management stand-in) on uvicorn; yields its base URL."""
    settings = Settings(home=tmp_path, upstream_timeout=60)
    gateway: Gateway = create_gateway(
        store, Authenticator(store, SystemClock()), routes, Balancer(), GatewayMetrics(), settings
    )
    await gateway.startup()
    app = Dispatcher(gateway, management_stand_in, gateway.startup, gateway.shutdown)
    port = free_port()
    http = fast_path_protocol(gateway) if kind == "fast" else "httptools"
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="off", http=http,
        log_level="warning", access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        await gateway.shutdown()


@pytest.fixture
async def world(tmp_path: Path, path_kind: str) -> AsyncIterator[World]:
    store = open_store(f"sqlite:///{tmp_path / 'gw.db'}")
    alpha, beta = Upstream("alpha"), Upstream("beta")
    await alpha.start()
    await beta.start()
    project_a = store.create_project("team-a").id
    project_b = store.create_project("team-b").id
    ids = {
        "alpha": _endpoint(store, project_a, "alpha", [alpha.port], ALPHA_EXT),
        "beta": _endpoint(store, project_a, "beta", [beta.port], BETA_EXT),
        "hidden": _endpoint(store, project_b, "hidden", [beta.port], HIDDEN_EXT),
    }
    routes = RouteTable()
    await routes.refresh(store)
    try:
        async with (
            serving(store, routes, tmp_path, path_kind) as base,
            httpx.AsyncClient(base_url=base, timeout=20) as client,
        ):
            yield World(
                client, store, alpha, beta, project_a, project_b, ids,
                token_a=make_token(store, project_a, Role.VIEWER),
                token_b=make_token(store, project_b, Role.ADMIN),
                alpha_key=make_token(store, project_a, Role.VIEWER, ids["alpha"]),
            )  # fmt: skip
    finally:
        await alpha.stop()
        await beta.stop()
        store.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def chat(model: str, **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def tir(project_id: int, endpoint_id: int, rest: str = "v1/chat/completions") -> str:
    return f"/tir/project/p-{project_id}/endpoint/is-{endpoint_id}/{rest}"


def assert_openai_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["x-request-id"]
    error: dict[str, str] = response.json()["error"]
    assert error["message"] and error["type"] and error["code"]
    return error


DI_CHAT = "/deepinfra/v1/openai/chat/completions"
TM_CHAT = "/tensormesh/openai/v1/chat/completions"


async def test_tir_url_reaches_the_endpoint_by_id_and_forwards_the_rest(world: World) -> None:
    body = b'{"model": "whatever-the-client-says", "messages": []}'
    response = await world.client.post(
        tir(world.project_a, world.ids["beta"]) + "?trace=1",
        content=body,
        headers={**bearer(world.token_a), "X-Request-Id": "tir-req-1"},
    )
    assert response.status_code == 200
    echoed = response.json()
    assert (echoed["tag"], echoed["method"]) == ("beta", "POST")
    assert echoed["path_qs"] == "/v1/chat/completions?trace=1"
    assert echoed["body"] == body.decode()  # TIR routes by path: the body goes as sent
    assert response.headers["x-request-id"] == "tir-req-1"
    assert echoed["headers"]["x-client-request-id"] == "tir-req-1"
    assert echoed["authorization"] is None
    health = await world.client.get(
        tir(world.project_a, world.ids["alpha"], "health"), headers=bearer(world.token_a)
    )
    assert (health.json()["tag"], health.json()["path_qs"]) == ("alpha", "/health")


async def test_tir_wrong_project_or_unknown_endpoint_is_404(world: World) -> None:
    a, b = world.project_a, world.project_b
    for token, url in [
        (world.token_b, tir(a, world.ids["alpha"])),  # project A's endpoint, project B's token
        (world.token_a, tir(b, world.ids["hidden"])),  # project B in the path, A's token
        (world.token_a, tir(a, world.ids["hidden"])),  # B's endpoint under A's project id
        (world.token_a, tir(a, 9999)),
        (world.token_a, f"/tir/project/p-{a}/endpoint/alpha/v1/chat/completions"),
    ]:
        response = await world.client.post(url, json=chat("x"), headers=bearer(token))
        assert_openai_error(response, 404)
    assert world.alpha.seen == [] and world.beta.seen == []


async def test_deepinfra_model_name_and_deploy_id_reach_the_deployment(world: World) -> None:
    for model, tag in [("acme/alpha-chat", "alpha"), ("deploy_id:e4f5a6", "beta")]:
        sent = chat(model, temperature=0.5)
        response = await world.client.post(
            DI_CHAT + "?x=1", json=sent, headers=bearer(world.token_a)
        )
        assert response.status_code == 200, response.text
        echoed = response.json()
        assert echoed["tag"] == tag
        assert echoed["path_qs"] == "/v1/chat/completions?x=1"
        # The engine serves the model under the endpoint's name, as on the native /v1 path.
        assert json.loads(echoed["body"]) == {**sent, "model": tag}
    for operation in ("completions", "embeddings"):
        response = await world.client.post(
            f"/deepinfra/v1/openai/{operation}",
            json={"model": "acme/alpha-chat", "input": "x"},
            headers=bearer(world.token_a),
        )
        assert response.json()["path_qs"] == f"/v1/{operation}"


async def test_tensormesh_model_name_or_endpoint_name_reach_the_endpoint(world: World) -> None:
    response = await world.client.post(
        TM_CHAT, json=chat("meta/alpha-tm"), headers=bearer(world.token_a)
    )
    assert response.json()["tag"] == "alpha"
    assert json.loads(response.json()["body"])["model"] == "alpha"
    exact = b'{"model":"beta",   "prompt": "hi"}'  # already the endpoint name: bytes untouched
    response = await world.client.post(
        "/tensormesh/openai/v1/completions", content=exact, headers=bearer(world.token_a)
    )
    echoed = response.json()
    assert (echoed["tag"], echoed["path_qs"], echoed["body"]) == (
        "beta",
        "/v1/completions",
        exact.decode(),
    )


@pytest.mark.parametrize("dialect", ["tir", "deepinfra", "tensormesh"])
async def test_each_dialect_streams_sse_event_by_event(world: World, dialect: str) -> None:
    url, model = {
        "tir": (tir(world.project_a, world.ids["alpha"]), "anything"),
        "deepinfra": (DI_CHAT, "acme/alpha-chat"),
        "tensormesh": (TM_CHAT, "meta/alpha-tm"),
    }[dialect]
    received: list[str] = []
    buffer = b""
    async with world.client.stream(
        "POST", url, json=chat(model, stream=True), headers=bearer(world.token_a)
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"]
        async for chunk in response.aiter_raw():
            buffer += chunk
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                received.append(event.decode())
                if len(received) <= len(world.alpha.gates):
                    world.alpha.gates[len(received) - 1].set()  # only now the next one comes
    assert received == ["data: alpha-0", "data: alpha-1", "data: alpha-2"]


async def test_endpoint_scoped_key_reaches_only_its_endpoint_via_every_dialect(
    world: World,
) -> None:
    key = bearer(world.alpha_key)
    a = world.project_a
    own = [
        (tir(a, world.ids["alpha"]), "x"),
        (DI_CHAT, "acme/alpha-chat"),
        (DI_CHAT, "deploy_id:d1a2b3"),
        (TM_CHAT, "meta/alpha-tm"),
        (TM_CHAT, "alpha"),
    ]
    for url, model in own:
        response = await world.client.post(url, json=chat(model), headers=key)
        assert response.json()["tag"] == "alpha", url
    other = [
        (tir(a, world.ids["beta"]), "x"),
        (DI_CHAT, "acme/beta-chat"),
        (DI_CHAT, "deploy_id:e4f5a6"),
        (TM_CHAT, "beta"),
    ]
    for url, model in other:
        response = await world.client.post(url, json=chat(model), headers=key)
        assert_openai_error(response, 404)
    assert world.beta.seen == []
    for url, ids in [
        ("/deepinfra/v1/openai/models", ["acme/alpha-chat"]),
        ("/tensormesh/openai/v1/models", ["meta/alpha-tm"]),
    ]:
        listed = await world.client.get(url, headers=key)
        assert [m["id"] for m in listed.json()["data"]] == ids


async def test_unknown_or_foreign_model_is_404_naming_the_model(world: World) -> None:
    for url, model in [
        (DI_CHAT, "acme/nope"),
        (DI_CHAT, "alpha"),  # an endpoint name is not a DeepInfra model name
        (DI_CHAT, "acme/hidden"),  # another project's deployment
        ("/deepinfra/v1/openai/embeddings", "deploy_id:zzz"),
        (TM_CHAT, "hidden"),
        ("/tensormesh/openai/v1/completions", "meta/nope"),
    ]:
        response = await world.client.post(url, json=chat(model), headers=bearer(world.token_a))
        error = assert_openai_error(response, 404)
        assert f"'{model}'" in error["message"]
    assert world.alpha.seen == [] and world.beta.seen == []


async def test_model_lists_show_each_dialects_names(world: World) -> None:
    deepinfra = await world.client.get("/deepinfra/v1/openai/models", headers=bearer(world.token_a))
    assert deepinfra.status_code == 200
    assert deepinfra.json()["object"] == "list"
    assert [(m["id"], m["owned_by"]) for m in deepinfra.json()["data"]] == [
        ("acme/alpha-chat", "team-a"),
        ("acme/beta-chat", "team-a"),
    ]
    tensormesh = await world.client.get(
        "/tensormesh/openai/v1/models", headers=bearer(world.token_b)
    )
    assert [m["id"] for m in tensormesh.json()["data"]] == ["hidden"]
    one = await world.client.get(
        "/deepinfra/v1/openai/models/acme/beta-chat", headers=bearer(world.token_a)
    )
    assert one.json()["id"] == "acme/beta-chat"
    missing = await world.client.get(
        "/deepinfra/v1/openai/models/acme/hidden", headers=bearer(world.token_a)
    )
    assert_openai_error(missing, 404)


async def test_dialect_traffic_is_counted_under_the_endpoint_name(world: World) -> None:
    headers = bearer(world.token_a)
    await world.client.post(tir(world.project_a, world.ids["alpha"]), json={}, headers=headers)
    await world.client.post(DI_CHAT, json=chat("acme/alpha-chat"), headers=headers)
    await world.client.post(DI_CHAT, json=chat("deploy_id:d1a2b3"), headers=headers)
    await world.client.post(TM_CHAT, json=chat("meta/alpha-tm"), headers=headers)
    await world.client.post(DI_CHAT, json=chat("acme/nope"), headers=headers)
    requests: dict[tuple[str, str], float] = {}
    text = (await world.client.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "modelport_gateway_requests_total":
                requests[(sample.labels["endpoint"], sample.labels["code"])] = sample.value
    assert requests[("alpha", "200")] == 4
    assert requests[("", "404")] == 1
    assert {endpoint for endpoint, _ in requests} == {"alpha", ""}  # no model names as labels


async def test_bad_dialect_requests_get_openai_errors(world: World) -> None:
    headers = bearer(world.token_a)
    assert_openai_error(await world.client.get(DI_CHAT, headers=headers), 405)
    no_model = await world.client.post(TM_CHAT, json={"messages": []}, headers=headers)
    assert_openai_error(no_model, 400)
    not_json = await world.client.post(DI_CHAT, content=b"{", headers=headers)
    assert_openai_error(not_json, 400)
    unknown = await world.client.post("/deepinfra/v1/openai/images", json={}, headers=headers)
    assert_openai_error(unknown, 404)
    unauthenticated = await world.client.post(DI_CHAT, json=chat("acme/alpha-chat"))
    assert_openai_error(unauthenticated, 401)
    assert world.alpha.seen == []


async def test_deepinfra_clients_may_send_the_token_as_xi_api_key(world: World) -> None:
    response = await world.client.post(
        DI_CHAT, json=chat("acme/alpha-chat"), headers={"xi-api-key": world.token_a}
    )
    assert response.status_code == 200
    assert "xi-api-key" not in response.json()["headers"]  # a credential: never forwarded


async def test_the_rest_of_each_dialect_goes_to_its_management_api(world: World) -> None:
    for path in ("/tir/serving/inference/", "/deepinfra/deploy/list", "/tensormesh/v1/models"):
        response = await world.client.get(path, headers=bearer(world.token_a))
        assert response.json() == {"app": "management", "path": path}


@pytest.mark.engine
async def test_a_real_llamacpp_engine_streams_through_deepinfra_and_tir(
    smollm2_path: Path, tmp_path: Path, path_kind: str
) -> None:
    adapter = LlamaCppAdapter()
    need(adapter.available() is None, "llama-cpp-python[server] is not installed")
    store = open_store(f"sqlite:///{tmp_path / 'gw.db'}")
    runtime = LocalRuntime(tmp_path / "logs")
    host, port = runtime.address()
    spec = EndpointSpec.model_validate(
        {
            "framework": "llamacpp",
            "model": {"path": str(smollm2_path)},
            "extensions": {"deepinfra": {"model_name": "acme/smol", "deploy_id": "s1"}},
        }
    )
    plan = adapter.plan(spec, LaunchContext(host=host, port=port, env={}, name="smol"))
    handle = await runtime.start("smol-r1-g1", plan)
    try:
        project = store.create_project("team-a").id
        endpoint = store.create_endpoint(project, "smol", spec, spec.model_dump_json())
        ready_replica(store, endpoint.id, port)
        token = make_token(store, project, Role.VIEWER)
        routes = RouteTable()
        await routes.refresh(store)
        async with (
            serving(store, routes, tmp_path, path_kind) as base,
            httpx.AsyncClient(base_url=base, timeout=60) as client,
        ):
            await _wait_until_serving(client, tir(project, endpoint.id, "v1/models"), token)
            for url, model in [(DI_CHAT, "acme/smol"), (tir(project, endpoint.id), "smol")]:
                events = await _stream_chat(client, url, model, token)
                assert events[-1] == "data: [DONE]", events
                chunks = [json.loads(e[len("data: ") :]) for e in events[:-1]]
                assert chunks and all(c["object"] == "chat.completion.chunk" for c in chunks)
    finally:
        await runtime.stop(handle, grace_seconds=10)
        store.close()


async def _wait_until_serving(client: httpx.AsyncClient, url: str, token: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        response = await client.get(url, headers=bearer(token))
        if response.status_code == 200:
            return
        assert time.monotonic() < deadline, (response.status_code, response.text)
        await asyncio.sleep(0.25)


async def _stream_chat(client: httpx.AsyncClient, url: str, model: str, token: str) -> list[str]:
    body = chat(model, stream=True, max_tokens=8)
    buffer = b""
    async with client.stream("POST", url, json=body, headers=bearer(token)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for chunk in response.aiter_raw():
            buffer += chunk
    events = [e.strip() for e in buffer.decode().replace("\r\n", "\n").split("\n\n")]
    # Comments (": ping - ...", which llama.cpp's server sends when a stream runs past 15 s on
    # a busy machine) are no events: SSE clients skip them.
    return [e for e in events if e and not e.startswith(":")]
