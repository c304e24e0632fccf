"""Usage metering end to end: a real server, a real llama.cpp replica serving SmolLM2.

Chat non-streamed (tokens = the engine's usage), streamed without and with
stream_options.include_usage (llama-cpp-python 0.3 never sends usage in a stream: the client
sees exactly the engine's events, and the gateway counts completion tokens from them, marked
estimated). A restart of the server flushes and keeps the counts; usage, cost (the endpoint is
billed under the TIR plan C3.2 at 3.1 INR/h) and series answer; bad input is a 422 naming the
field; another project sees none of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.sdk import Client
from tests.support.server import ServerProcess, kill_replicas, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(300)]

NAME = "metered"
SKU = {"sku_id": 101, "sku_name": "C3.2", "sku_item_price_id": 1001}  # shipped: 3.1 INR/h
CHAT = {"model": NAME, "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 6,
        "temperature": 0, "seed": 1}  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("mp-usage"))
    srv.start()
    spec = {
        "framework": "llamacpp", "model": {"path": str(smollm2_path)}, "replicas": 1,
        "engine_args": {"n_ctx": 512}, "extensions": {"tir": {"sku": SKU}},
    }  # fmt: skip
    try:
        with srv.api() as api:
            created = api.post("/api/v1/endpoints", json={"name": NAME, "spec": spec})
            assert created.status_code == 201, created.text
        yield srv
    finally:
        handles = srv.replica_handles() if srv.proc and srv.proc.poll() is None else []
        srv.stop()
        kill_replicas(handles)


def _chat(srv: ServerProcess, **extra: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {srv.admin_token}"}
    return httpx.post(f"{srv.base_url}/v1/chat/completions", json=CHAT | extra, headers=headers,
                      timeout=60)  # fmt: skip


def _events(body: str) -> list[str]:
    return [line[len("data: ") :] for line in body.split("\n") if line.startswith("data: ")]


def _text_events(events: list[str]) -> int:
    count = 0
    for event in events[:-1]:
        delta = json.loads(event)["choices"][0]["delta"]
        count += bool(delta.get("content"))
    return count


def _usage(srv: ServerProcess, **params: str) -> dict[str, Any]:
    with srv.api() as api:
        answer = api.get("/api/v1/usage", params=params)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_usage_counts_tokens_survives_a_restart_and_prices_replica_time(
    server: ServerProcess,
) -> None:
    def ready() -> bool:
        return _chat(server).status_code == 200

    assert wait_until(ready, timeout=120)
    plain = _chat(server)
    usage = plain.json()["usage"]
    streamed = _chat(server, stream=True)
    asked = _chat(server, stream=True, stream_options={"include_usage": True})
    for answer in (streamed, asked):
        events = _events(answer.text)
        assert events[-1] == "[DONE]"
        assert all("usage" not in json.loads(e) for e in events[:-1])  # as the engine sent them
    estimated = _text_events(_events(streamed.text)) + _text_events(_events(asked.text))

    server.stop()  # the shutdown flushes what the gateway and the controller counted
    server.start()
    report = _usage(server)
    assert report["group_by"] == "endpoint" and report["currency"] == "INR"
    (row,) = report["rows"]
    assert (row["key"], row["endpoint"], row["day"]) == (NAME, NAME, None)
    ready_requests = row["requests"] - 3  # the readiness loop's chats count too
    assert ready_requests >= 1 and row["errors"] == 0
    assert row["estimated_requests"] == 2
    # Non-streamed chats: the engine's usage (every one the same prompt and max_tokens).
    assert row["prompt_tokens"] == (ready_requests + 1) * usage["prompt_tokens"]
    assert row["completion_tokens"] == (ready_requests + 1) * usage["completion_tokens"] + estimated
    (plan,) = row["plans"]
    assert plan["plan"] == "C3.2" and plan["price_per_hour"] == pytest.approx(3.1)
    assert plan["replica_seconds"] > 0
    assert row["cost"] == pytest.approx(plan["replica_seconds"] * 3.1 / 3600, rel=1e-3)
    assert report["totals"]["requests"] == row["requests"]

    cli = server.cli("usage", "--json")  # the CLI, through the SDK
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert json.loads(cli.stdout)["totals"]["requests"] >= row["requests"]
    table = server.cli("usage", "--group-by", "day")
    assert table.returncode == 0 and "C3.2" in table.stdout, table.stdout + table.stderr

    by_day = _usage(server, group_by="day")
    (day,) = by_day["rows"]
    assert day["endpoint"] is None and day["key"] == day["day"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", day["day"])
    assert day["requests"] == row["requests"]

    with Client(server.base_url, server.admin_token) as client:
        series = client.series(NAME, window=600).model_dump()
    assert len(series["t"]) == 60 and series["step"] == 10
    assert sum((r or 0) * 10 for r in series["requests_per_s"]) == pytest.approx(row["requests"])
    assert any(p is not None for p in series["p95_ms"])
    assert 1 in series["replicas_desired"]


def test_bad_input_is_a_422_naming_the_field_and_projects_are_apart(
    server: ServerProcess,
) -> None:
    with server.api() as api:
        for params, field in (({"from": "yesterday"}, "from"), ({"group_by": "week"}, "group_by"),
                              ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                               "from")):  # fmt: skip
            answer = api.get("/api/v1/usage", params=params)
            assert answer.status_code == 422, answer.text
            assert field in answer.text
        bad_step = api.get(f"/api/v1/endpoints/{NAME}/series", params={"step": 15})
        assert bad_step.status_code == 422 and "step" in bad_step.text
        created = api.post("/api/v1/projects", json={"name": "other"})
        assert created.status_code == 201, created.text
        other = {"authorization": f"Bearer {created.json()['admin_token']}"}
        assert api.get("/api/v1/usage", params={"project": "other"}).json()["rows"] == []
    seen = httpx.get(f"{server.base_url}/api/v1/usage", headers=other)
    assert seen.status_code == 200 and seen.json()["rows"] == []
    hidden = httpx.get(f"{server.base_url}/api/v1/usage", params={"project": "default"},
                       headers=other)  # fmt: skip
    assert hidden.status_code == 403


def test_a_queued_invocation_is_metered_as_a_live_request(server: ServerProcess) -> None:
    """A request queued with the async API reaches the replica through a worker: it counts as
    one request with the engine's tokens, as the same chat sent live does."""
    assert wait_until(lambda: _chat(server).status_code == 200, timeout=120)  # run alone too
    usage = _chat(server).json()["usage"]

    def totals() -> tuple[int, int, int]:
        server.stop()  # the shutdown flushes what the gateway and the workers counted
        server.start()
        (row,) = _usage(server)["rows"]
        return row["requests"], row["prompt_tokens"], row["completion_tokens"]

    before = totals()
    with server.api() as api:
        patched = api.patch(f"/api/v1/endpoints/{NAME}",
                            json={"spec": {"async_config": {"enabled": True}}})  # fmt: skip
        assert patched.status_code == 200, patched.text
        queued = httpx.post(f"{server.base_url}/endpoints/{NAME}/async/v1/chat/completions",
                            json=CHAT, headers={"authorization": f"Bearer {server.admin_token}"},
                            timeout=30)  # fmt: skip
        assert queued.status_code == 202, queued.text
        url = queued.json()["result_url"]
        assert wait_until(lambda: api.get(url).json()["status"] == "completed", timeout=120), (
            api.get(url).text
        )
    after = totals()
    assert after[0] - before[0] == 1, (before, after)
    assert (after[1] - before[1], after[2] - before[2]) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
