"""Requests for an endpoint with no READY replica are held by the gateway, end to end: a real
server, real llama.cpp replicas serving SmolLM2, custom commands that never listen or crash.

- right after creating an endpoint, concurrent requests (and a stream) wait for its first
  replica and are served by it, instead of 503;
- a replica that never gets ready: 503 with Retry-After after MODELPORT_HOLD_TIMEOUT;
- a crash-looping replica: the held request fails fast, with the reason, long before the timeout.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, kill_replicas

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(300)]

LONG_HOLD = "120"  # long enough that a timeout can never pass for a served or failed-fast one
SHORT_HOLD = 2.0


def _serve(home: Path, hold: str) -> Iterator[ServerProcess]:
    srv = ServerProcess(home, extra_env={"MODELPORT_HOLD_TIMEOUT": hold})
    srv.start()
    try:
        yield srv
    finally:
        handles = srv.replica_handles() if srv.proc and srv.proc.poll() is None else []
        srv.stop()
        kill_replicas(handles)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from _serve(tmp_path_factory.mktemp("mp-hold"), LONG_HOLD)


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from _serve(tmp_path_factory.mktemp("mp-hold-short"), str(SHORT_HOLD))


def _create(srv: ServerProcess, name: str, spec: dict[str, Any]) -> None:
    with srv.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": name, "spec": spec})
        assert created.status_code == 201, created.text
        # The create answers once the gateway's route table has the endpoint.
        assert name in [m["id"] for m in api.get("/v1/models").json()["data"]]


def _phase(srv: ServerProcess, name: str) -> str:
    with srv.api() as api:
        return str(api.get(f"/api/v1/endpoints/{name}").json()["phase"])


def _delete(srv: ServerProcess, name: str) -> None:
    with srv.api() as api:
        api.delete(f"/api/v1/endpoints/{name}")


def _llamacpp(model: Path) -> dict[str, Any]:
    return {
        "framework": "llamacpp", "model": {"path": str(model)}, "replicas": 1,
        "engine_args": {"n_ctx": 512},
    }  # fmt: skip


def _custom(*command: str) -> dict[str, Any]:
    return {"framework": "custom", "command": list(command), "replicas": 1}


def _chat(srv: ServerProcess, name: str, **extra: Any) -> httpx.Response:
    return httpx.post(
        f"{srv.base_url}/endpoints/{name}/v1/chat/completions",
        headers={"Authorization": f"Bearer {srv.admin_token}"},
        json={"model": name, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4,
              **extra},
        timeout=180,
    )  # fmt: skip


def _error(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def test_requests_right_after_create_are_held_and_served(
    server: ServerProcess, smollm2_path: Path
) -> None:
    name = "hold-burst"
    _create(server, name, _llamacpp(smollm2_path))
    assert _phase(server, name) != "ready"  # so the requests below arrive before the replica
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _chat(server, name), range(4)))
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert all(a.json()["choices"] for a in answers)
    with server.api() as api:
        replicas = api.get(f"/api/v1/endpoints/{name}/replicas").json()["items"]
    assert len(replicas) == 1  # one replica served every held request
    _delete(server, name)


def test_a_stream_held_through_the_start_streams_normally(
    server: ServerProcess, smollm2_path: Path
) -> None:
    name = "hold-stream"
    _create(server, name, _llamacpp(smollm2_path))
    assert _phase(server, name) != "ready"
    body = {
        "model": name, "messages": [{"role": "user", "content": "Count to five"}],
        "max_tokens": 16, "stream": True,
    }  # fmt: skip
    with httpx.stream(
        "POST", f"{server.base_url}/endpoints/{name}/v1/chat/completions",
        headers={"Authorization": f"Bearer {server.admin_token}"}, json=body, timeout=180,
    ) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[len("data: ") :] for line in response.iter_lines() if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    assert len(chunks) > 1, "a streamed reply arrives in several events"
    _delete(server, name)


def test_a_replica_that_never_gets_ready_times_out_with_retry_after(
    impatient: ServerProcess,
) -> None:
    name = "hold-never"
    _create(impatient, name, _custom("sleep", "600"))
    started = time.monotonic()
    answer = _chat(impatient, name)
    waited = time.monotonic() - started
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["retry-after"]) > 0
    assert _error(answer)["code"] == "hold_timeout"
    assert waited >= SHORT_HOLD  # held for the timeout, not refused at once
    _delete(impatient, name)


def test_a_crash_looping_replica_fails_held_requests_fast(server: ServerProcess) -> None:
    name = "hold-crash"
    _create(server, name, _custom(sys.executable, "-c", "import sys; sys.exit(3)"))
    answer = _chat(server, name)  # held, then failed as soon as the replica is seen failing
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]
    error = _error(answer)
    assert error["code"] == "endpoint_unavailable"  # not "hold_timeout": LONG_HOLD is far off
    assert f"endpoint '{name}' cannot start a replica" in error["message"]
    assert "keep failing" in error["message"]
    _delete(server, name)
