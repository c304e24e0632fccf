"""Attacks on the server's edge (issue 6), each against a real `modelport server` subprocess
(two gateway processes) started as under `ulimit -n 1024`: a flood of slow-header connections,
an 8 MiB header, 10,000 headers, slow bodies, deeply nested JSON, duplicate credentials, and a
token over its project's rate or concurrency limit. Each is refused while normal requests keep
working."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import math
import os
import resource
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.gateway.headers import split_request_headers
from tests.conftest import need
from tests.integration.raw_http import RawResponse, read_response, request
from tests.support.processes import connect_to, owner, serving_pair
from tests.support.server import ServerProcess

FD_LIMIT = 1024  # the server's open-files limit, as in the attack
FLOOD = 1100  # slow-header connections: more than the server has file descriptors
READ_TIMEOUT = 5  # the server's header and body deadlines in this module (seconds)

# A connection per request: these tests wait longer than the server's idle keep-alive timeout
# between requests, and a client reusing a connection the server is closing at that moment
# gets "disconnected without a response" (HTTP/1.1's keep-alive race, not a server fault).
NEW_CONNECTIONS = httpx.Limits(max_keepalive_connections=0)


@contextlib.contextmanager
def open_files_limit(soft: int) -> Iterator[None]:
    """This process's soft open-files limit set to `soft` meanwhile (children inherit it)."""
    old_soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (old_soft, hard))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    home = tmp_path_factory.mktemp("edge") / "home"
    home.mkdir()
    timeouts = {"MODELPORT_HEADER_TIMEOUT": str(READ_TIMEOUT)}
    # Two gateway processes: a token's limits must hold across them (the last tests).
    env = {
        **timeouts,
        "MODELPORT_BODY_TIMEOUT": str(READ_TIMEOUT),
        "MODELPORT_GATEWAY_WORKERS": "2",
    }
    srv = ServerProcess(home, extra_env=env)
    with open_files_limit(FD_LIMIT):
        srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def server_pid(srv: ServerProcess) -> int:
    assert srv.proc is not None
    return srv.proc.pid


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return False


async def exchange(srv: ServerProcess, data: bytes, timeout: float = 30) -> RawResponse:
    """Send `data` on a fresh connection while reading the answer; the sending stops when the
    answer is in (a refused head need not be sent whole)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            for start in range(0, len(data), 65536):
                writer.write(data[start : start + 65536])
                await writer.drain()

    sender = asyncio.create_task(send())
    try:
        return await asyncio.wait_for(read_response(reader), timeout)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.close()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def project_token(srv: ServerProcess, name: str, limits: dict[str, Any]) -> str:
    """A new project's admin token, the project limited by `limits` (set by the server admin)."""
    with srv.api() as api:
        created = api.post("/api/v1/projects", json={"name": name})
        assert created.status_code == 201, created.text
        patched = api.patch(f"/api/v1/projects/{name}", json={"limits": limits})
        assert patched.status_code == 200, patched.text
    return str(created.json()["admin_token"])


# --- connections ----------------------------------------------------------------------------


def test_the_server_runs_under_the_attacks_file_limit(server: ServerProcess) -> None:
    limits = Path(f"/proc/{server_pid(server)}/limits").read_text()
    line = next(ln for ln in limits.splitlines() if ln.startswith("Max open files"))
    assert int(line.split()[3]) <= FD_LIMIT


async def test_a_slow_header_flood_leaves_normal_requests_working(server: ServerProcess) -> None:
    """1,100 unauthenticated clients that never finish their request head, reconnecting when
    cut off, against a server with 1,024 file descriptors: 25 normal requests made during
    the flood, each on a new connection, all succeed."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need(hard >= FLOOD + 200, f"the flood needs {FLOOD + 200} open files in the test process")
    stop = asyncio.Event()
    opened = 0

    async def slow_client() -> None:
        nonlocal opened
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            except OSError:
                await asyncio.sleep(1)
                continue
            opened += 1
            try:
                writer.write(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")
                while not stop.is_set():
                    # One more header line whenever a second passes without an answer: the
                    # head is never complete. An answer or EOF means cut off: reconnect.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(reader.read(1024), 1)
                        break
                    writer.write(b"X-Slow: 1\r\n")
                    await writer.drain()
            except OSError:
                pass
            finally:
                writer.close()
            await asyncio.sleep(1)  # a pause before reconnecting, as a client library would

    with open_files_limit(min(hard, FLOOD * 2 + 500)):
        flood = [asyncio.create_task(slow_client()) for _ in range(FLOOD)]
        try:

            async def flooded() -> bool:
                # The server holds connections up to its cap (about half its descriptors).
                return opened >= FLOOD and open_fds(server_pid(server)) > FD_LIMIT // 3

            assert await wait_for(flooded, 60), (opened, open_fds(server_pid(server)))
            statuses = []
            limits = httpx.Limits(max_keepalive_connections=0)  # a new connection each time
            async with httpx.AsyncClient(
                base_url=server.base_url, timeout=30, limits=limits
            ) as client:
                for i in range(25):
                    path = "/v1/models" if i % 2 else "/api/v1/endpoints"
                    response = await client.get(path, headers=auth(server.admin_token))
                    statuses.append(response.status_code)
            assert statuses == [200] * 25
            assert open_fds(server_pid(server)) < FD_LIMIT  # never starved of descriptors
        finally:
            stop.set()
            for task in flood:
                task.cancel()
            await asyncio.gather(*flood, return_exceptions=True)
    assert server.proc is not None and server.proc.poll() is None


async def test_a_client_that_never_finishes_its_head_is_cut_off(server: ServerProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /v1/models HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        answer = await asyncio.wait_for(read_response(reader), READ_TIMEOUT + 30)
        assert answer.status == 408
        assert answer.headers["connection"] == "close"
        assert "request head" in json.loads(answer.body)["error"]["message"]
        assert await asyncio.wait_for(reader.read(), 30) == b""  # and the connection is closed
    finally:
        writer.close()


async def test_an_8_mib_header_is_refused_with_431(server: ServerProcess) -> None:
    head = request("GET", "/v1/models", server.admin_token).removesuffix(b"\r\n")
    data = head + b"X-Big: " + b"a" * (8 << 20) + b"\r\n\r\n"
    answer = await exchange(server, data)
    assert answer.status == 431
    error = json.loads(answer.body)["error"]  # the gateway's OpenAI error shape
    assert error["code"] == "request_header_fields_too_large"
    assert "request head larger than" in error["message"]


@pytest.mark.parametrize("path", ["/v1/models", "/api/v1/endpoints"])
async def test_ten_thousand_headers_are_refused_not_forwarded(
    server: ServerProcess, path: str
) -> None:
    flood = {f"X-Flood-{i}": "v" for i in range(10_000)}
    answer = await exchange(server, request("GET", path, server.admin_token, headers=flood))
    assert answer.status == 431
    # 10,000 fields are also ~180 KB: which limit trips first depends on how the bytes arrive
    # (one read, or many on a busy machine). Either way the head is refused, never forwarded.
    message = json.loads(answer.body)["error"]["message"]
    assert "more than 100 header fields" in message or "request head larger than" in message


# --- bodies ----------------------------------------------------------------------------------


DEEP = "__deep__"  # where `with_deep` puts the nested arrays (json.dumps cannot nest 5,000)


def with_deep(document: dict[str, Any], levels: int) -> bytes:
    """`document` as JSON, its DEEP value replaced by arrays nested `levels` deep."""
    deep = "[" * levels + "]" * levels
    return json.dumps(document).replace(json.dumps(DEEP), deep).encode()


GATEWAY_MODEL_IN_BODY = [
    "/v1/chat/completions",
    "/deepinfra/v1/openai/chat/completions",
    "/tensormesh/openai/v1/chat/completions",
]


@pytest.mark.parametrize("path", GATEWAY_MODEL_IN_BODY)
@pytest.mark.parametrize("levels", [100, 5000])
def test_deep_json_to_the_gateway_is_400(server: ServerProcess, path: str, levels: int) -> None:
    chat = {"model": "anything", "messages": [{"role": "user", "content": "hi"}], "x": DEEP}
    body = with_deep(chat, levels)
    response = httpx.post(
        server.base_url + path, content=body, headers=auth(server.admin_token), timeout=30
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "json_too_deep"
    assert "nests JSON deeper than" in error["message"]


SPEC = {"framework": "custom", "command": ["serve", "{port}"]}
# (path, body, how the envelope carries the message)
API_CREATES: list[tuple[str, Callable[[Any], dict[str, Any]], Callable[[Any], str]]] = [
    (
        "/api/v1/endpoints",
        lambda deep: {"name": "deep", "spec": {**SPEC, "extensions": {"x": deep}}},
        lambda body: body["error"]["message"],
    ),
    (
        "/tir/serving/inference/?project_id=1",
        lambda deep: {"name": "deep", "custom_endpoint_details": deep},
        lambda body: body["message"],
    ),
    (
        "/deepinfra/deploy/llm",
        lambda deep: {"model_name": "a/b", "settings": deep},
        lambda body: body["detail"],
    ),
    (
        "/tensormesh/v1/models",
        lambda deep: {"modelName": "deep", "infra": deep},
        lambda body: body["message"],
    ),
]


@pytest.mark.parametrize(("path", "make", "message_of"), API_CREATES)
@pytest.mark.parametrize("levels", [300, 5000])
def test_deep_json_to_every_api_is_400_in_its_envelope(
    server: ServerProcess,
    path: str,
    make: Callable[[Any], dict[str, Any]],
    message_of: Callable[[Any], str],
    levels: int,
) -> None:
    body = with_deep(make(DEEP), levels)
    headers = {**auth(server.admin_token), "Content-Type": "application/json"}
    response = httpx.post(server.base_url + path, content=body, headers=headers, timeout=30)
    assert response.status_code == 400, response.text
    assert message_of(response.json()) == "body: JSON nested deeper than 64 levels"


# --- credentials -----------------------------------------------------------------------------

# (path, credential header, the message's place in the envelope)
DUPLICATES: list[tuple[str, str, Callable[[Any], str]]] = [
    ("/v1/models", "Authorization", lambda body: body["error"]["message"]),
    ("/deepinfra/v1/openai/models", "xi-api-key", lambda body: body["error"]["message"]),
    ("/api/v1/endpoints", "Authorization", lambda body: body["error"]["message"]),
    ("/tir/serving/inference/?project_id=1", "Authorization", lambda body: body["message"]),
    ("/deepinfra/deploy/list", "Authorization", lambda body: body["detail"]),
    ("/deepinfra/deploy/list", "xi-api-key", lambda body: body["detail"]),
    ("/tensormesh/v1/models", "Authorization", lambda body: body["message"]),
]


@pytest.mark.parametrize(("path", "header", "message_of"), DUPLICATES)
def test_a_credential_header_sent_twice_is_refused_everywhere(
    server: ServerProcess, path: str, header: str, message_of: Callable[[Any], str]
) -> None:
    token = server.admin_token
    value = f"Bearer {token}" if header == "Authorization" else token
    single = httpx.get(server.base_url + path, headers=[(header, value)], timeout=30)
    assert single.status_code == 200, single.text
    # Even two copies of the same valid token: which copy counts is never a reader's choice.
    for second in (value, "Bearer mp_someone_else"):
        response = httpx.get(
            server.base_url + path, headers=[(header, value), (header, second)], timeout=30
        )
        assert response.status_code == 401, response.text
        assert message_of(response.json()) == f"send one {header} header, not several"


def test_engines_get_only_the_headers_they_need() -> None:
    incoming = split_request_headers(
        [
            (b"authorization", b"Bearer mp_ours"),
            (b"cookie", b"session=theirs"),
            (b"x-api-key", b"another-system"),
            (b"proxy-authorization", b"Basic x"),
            (b"x-anything", b"made up"),
            (b"content-type", b"application/json"),
            (b"accept", b"text/event-stream"),
            (b"openai-beta", b"assistants=v2"),
            (b"traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ],
        "127.0.0.1",
        "http",
    )
    assert sorted(name.lower() for name, _ in incoming.forward) == [
        "accept",
        "accept-encoding",
        "content-type",
        "openai-beta",
        "traceparent",
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-request-id",
    ]


# --- rate and concurrency limits -------------------------------------------------------------


def test_a_token_over_its_requests_per_minute_gets_429_then_recovers(
    server: ServerProcess,
) -> None:
    """The limit is the server's: requests alternate between two gateway processes and the
    token still gets one minute's worth in all (plus what refills meanwhile)."""
    token = project_token(server, "rated", {"requests_per_minute": 60})
    pids = serving_pair(server)
    connections = [connect_to(server, pid) for pid in pids]
    started = time.monotonic()
    statuses: list[int] = []
    refused: http.client.HTTPResponse | None = None
    for i in range(300):  # a burst: far more than a minute's worth would refill meanwhile
        conn = connections[i % 2]
        conn.request("GET", "/v1/models", headers=auth(token))
        answer = conn.getresponse()
        body = answer.read()
        statuses.append(answer.status)
        if answer.status != 200:
            refused = answer
            break
    elapsed = time.monotonic() - started
    for conn in connections:
        conn.close()
    assert refused is not None and refused.status == 429, statuses
    admitted = len(statuses) - 1
    # Both processes admitted some, and together no more than the bucket plus its refill (one
    # a second): two per-process buckets would have let about twice as many through.
    assert 60 <= admitted <= 60 + math.ceil(elapsed) + 1, (admitted, elapsed)
    assert json.loads(body)["error"]["code"] == "rate_limit_exceeded"
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    time.sleep(retry_after)  # what the answer asks of the client
    with httpx.Client(base_url=server.base_url, headers=auth(token), timeout=30) as client:
        assert client.get("/v1/models").status_code == 200


async def test_a_token_over_its_concurrent_requests_gets_429_and_every_exit_frees_its_slot(
    server: ServerProcess,
) -> None:
    """The slot is held on one gateway process and checked on the other: the limit is the
    server's, and every way the holding request ends gives it back."""
    token = project_token(server, "concurrent", {"concurrent_requests": 1})
    pids = serving_pair(server)

    def answer_on(pid: int) -> tuple[int, dict[str, str], Any]:
        conn = connect_to(server, pid)
        try:
            conn.request("GET", "/v1/models", headers=auth(token))
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), json.loads(response.read())
        finally:
            conn.close()

    async def holder() -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int]:
        """A request that holds the token's one slot (its body is still coming), and the
        process that is not holding it."""
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        head = request("POST", "/v1/chat/completions", token, b"x" * 100)
        writer.write(head[: len(head) - 90])
        await writer.drain()
        client_port = writer.get_extra_info("sockname")[1]
        deadline = time.monotonic() + 30
        while (held_by := owner(server.port, client_port, pids)) is None:
            assert time.monotonic() < deadline, "no process accepted the holding connection"
            await asyncio.sleep(0.01)  # /proc shows the owner once the process accepted it
        return reader, writer, next(pid for pid in pids if pid != held_by)

    def answered_on(pid: int, status: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return (await asyncio.to_thread(answer_on, pid))[0] == status

        return check

    # 1. The client leaves mid-body.
    reader, writer, other = await holder()
    assert await wait_for(answered_on(other, 429), 30)
    status, headers, body = await asyncio.to_thread(answer_on, other)
    assert status == 429
    assert headers["retry-after"] == "1"
    assert body["error"]["code"] == "concurrency_limit_exceeded"
    writer.close()
    assert await wait_for(answered_on(other, 200), 30)

    # 2. The client is too slow: the body deadline cuts it off.
    reader, writer, other = await holder()
    assert await wait_for(answered_on(other, 429), 30)
    assert await asyncio.wait_for(reader.read(), READ_TIMEOUT + 30) == b""
    writer.close()
    assert await wait_for(answered_on(other, 200), 30)

    # 3. The request is answered (400: the body is not JSON).
    reader, writer, other = await holder()
    assert await wait_for(answered_on(other, 429), 30)
    writer.write(b"x" * 90)
    assert (await asyncio.wait_for(read_response(reader), 30)).status == 400
    writer.close()
    assert await wait_for(answered_on(other, 200), 30)
