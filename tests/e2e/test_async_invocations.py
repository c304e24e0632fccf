"""Async invocations end to end: a real server, a real llama.cpp replica, results in the
project's default local dataset. Submit -> 202 -> completed with exactly one result file per id;
Idempotency-Key; 429 with Retry-After when the queue is full; cancel a queued one; an engine 4xx
is a final failure with the answer kept; async off refuses intake naming the field; a server
restart with work queued and in flight loses nothing and writes no second result."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ServerProcess, kill_replicas, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(900)]

NAME = "chat"
QUEUE_LIMIT = 10
FINAL = {"completed", "failed", "canceled", "expired"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path_factory.mktemp("mp-home"),
        extra_env={"MODELPORT_ASYNC_QUEUE_LIMIT": str(QUEUE_LIMIT)},
    )
    srv.start()
    handles: list[dict[str, Any]] = []
    try:
        spec = {
            "framework": "llamacpp",
            "model": {"path": str(smollm2_path)},
            "engine_args": {"n_ctx": 2048},
            "replicas": 1,
            "async_config": {"enabled": True, "concurrent_workers": 1},
        }
        with srv.api() as api:
            created = api.post("/api/v1/endpoints", json={"name": NAME, "spec": spec})
            assert created.status_code == 201, created.text
        assert wait_until(lambda: _phase(srv) == "ready", timeout=180), _phase(srv)
        yield srv
    finally:
        if srv.proc and srv.proc.poll() is None:
            handles = srv.replica_handles()
        srv.stop()
        kill_replicas(handles)


def _phase(srv: ServerProcess) -> str:
    with srv.api() as api:
        return str(api.get(f"/api/v1/endpoints/{NAME}").json()["phase"])


def _chat(content: str, max_tokens: int = 8) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], "max_tokens": max_tokens}


def _submit(
    srv: ServerProcess, body: object, key: str | None = None, path: str = "v1/chat/completions"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {srv.admin_token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return httpx.post(
        f"{srv.base_url}/endpoints/{NAME}/async/{path}",
        json=body,
        headers=headers,
        timeout=30,
    )


def _get(srv: ServerProcess, invocation_id: str) -> dict[str, Any]:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{NAME}/invocations/{invocation_id}")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _wait_final(
    srv: ServerProcess, ids: list[str], timeout: float = 240
) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}

    def all_final() -> bool:
        for invocation_id in ids:
            if invocation_id not in done:
                got = _get(srv, invocation_id)
                if got["status"] in FINAL:
                    done[invocation_id] = got
        return len(done) == len(ids)

    assert wait_until(all_final, timeout=timeout), {i: _get(srv, i)["status"] for i in ids}
    return done


def _result_files(srv: ServerProcess) -> list[Path]:
    return sorted((srv.home / "datasets").rglob("api/is-*/response/*.json"))


def test_submitted_chats_complete_with_one_result_file_each(server: ServerProcess) -> None:
    before = set(_result_files(server))
    accepted = [_submit(server, _chat(f"Say {n}")) for n in range(6)]
    assert [a.status_code for a in accepted] == [202] * 6, [a.text for a in accepted]
    first = accepted[0].json()
    assert first["status"] == "queued"
    assert first["result_url"] == f"/api/v1/endpoints/{NAME}/invocations/{first['id']}"
    assert accepted[0].headers["location"] == first["result_url"]
    ids = [a.json()["id"] for a in accepted]
    assert len(set(ids)) == 6

    done = _wait_final(server, ids)
    summary = [(d["status"], d["response_status"], d["error"], d["result"]) for d in done.values()]
    assert {d["status"] for d in done.values()} == {"completed"}, summary
    for invocation in done.values():
        assert invocation["response_status"] == 200
        assert invocation["result"]["choices"][0]["message"]["content"] is not None
        assert invocation["started_at"] and invocation["finished_at"]
        path = Path(invocation["result_location"])
        assert path.name == f"{invocation['id']}.json"
        document = json.loads(path.read_text())
        assert document["request"]["body"]["max_tokens"] == 8
        assert document["response"]["status"] == 200
        assert document["timings"]["attempts"] == 1
        assert "authorization" not in {h.lower() for h in document["request"]["headers"]}
    new = set(_result_files(server)) - before
    assert sorted(p.stem for p in new) == sorted(ids)  # one file per id, no other

    listed = server.api().get(f"/api/v1/endpoints/{NAME}/invocations", params={"limit": 3})
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 3 and listed.json()["total"] >= 6


def test_idempotency_key_returns_the_same_invocation(server: ServerProcess) -> None:
    first = _submit(server, _chat("Hi"), key="order-1")
    again = _submit(server, _chat("Something else"), key="order-1")
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["id"] == first.json()["id"]
    other = _submit(server, _chat("Hi"), key="order-2")
    assert other.json()["id"] != first.json()["id"]
    _wait_final(server, [first.json()["id"], other.json()["id"]])


def test_full_queue_answers_429_with_retry_after_and_cancel_frees_a_place(
    server: ServerProcess,
) -> None:
    long_chat = _chat("Write a long story about a dragon.", max_tokens=200)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: _submit(server, long_chat), range(QUEUE_LIMIT + 6)))
    statuses = [a.status_code for a in answers]
    assert set(statuses) == {202, 429}, statuses
    assert statuses.count(202) <= QUEUE_LIMIT
    refused = next(a for a in answers if a.status_code == 429)
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["param"] == "queue"

    # One worker: the newest accepted ones are still queued and can be canceled.
    accepted = [a.json()["id"] for a in answers if a.status_code == 202]
    with server.api() as api:
        canceled = api.post(f"/api/v1/endpoints/{NAME}/invocations/{accepted[-1]}/cancel")
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["status"] == "canceled"
        again = api.post(f"/api/v1/endpoints/{NAME}/invocations/{accepted[-1]}/cancel")
        assert again.status_code == 409, again.text
        assert again.json()["error"]["field"] == "status"
    assert _submit(server, _chat("Hi")).status_code in (202, 429)
    done = _wait_final(server, accepted, timeout=600)
    assert done[accepted[-1]]["status"] == "canceled"
    assert not list((server.home / "datasets").rglob(f"{accepted[-1]}.json"))


def test_an_engine_4xx_is_a_final_failure_with_the_answer_kept(server: ServerProcess) -> None:
    accepted = _submit(server, _chat("Hi"), path="v1/no-such-route")  # the engine: 404
    assert accepted.status_code == 202, accepted.text
    invocation_id = accepted.json()["id"]
    done = _wait_final(server, [invocation_id])[invocation_id]
    assert done["status"] == "failed"
    assert 400 <= done["response_status"] < 500
    assert done["attempts"] == 1  # not retried
    assert done["result"] is not None and done["result_location"]


def test_async_off_refuses_intake_naming_the_field(server: ServerProcess) -> None:
    # Work queued before async is turned off is still done: only intake stops.
    queued = [_submit(server, _chat(f"Count to {n}", max_tokens=24)) for n in range(6)]
    assert all(r.status_code == 202 for r in queued), [r.text for r in queued]
    with server.api() as api:
        patched = api.patch(
            f"/api/v1/endpoints/{NAME}", json={"spec": {"async_config": {"enabled": False}}}
        )
        assert patched.status_code == 200, patched.text
        try:
            # The patch answers once the gateway's route table has it: refused at once.
            answer = _submit(server, _chat("Hi"))
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"]["param"] == "spec.async_config.enabled"
            finished = _wait_final(server, [r.json()["id"] for r in queued])
            assert {got["status"] for got in finished.values()} == {"completed"}
        finally:
            api.patch(
                f"/api/v1/endpoints/{NAME}",
                json={"spec": {"async_config": {"enabled": True, "concurrent_workers": 1}}},
            )


def test_a_server_restart_loses_no_invocation_and_writes_one_result_each(
    server: ServerProcess,
) -> None:
    assert wait_until(lambda: _submit(server, _chat("warm")).status_code == 202, timeout=10)
    before = set(_result_files(server))
    ids = []
    for n in range(6):
        answer = _submit(server, _chat(f"Count to {n}", max_tokens=32))
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    assert wait_until(lambda: _get(server, ids[0])["status"] != "queued", timeout=60)
    server.stop()  # one in flight (handed back), the rest queued
    server.start()
    done = _wait_final(server, ids, timeout=600)
    assert {d["status"] for d in done.values()} == {"completed"}, done
    new = {p.stem for p in set(_result_files(server)) - before}
    assert set(ids) <= new
