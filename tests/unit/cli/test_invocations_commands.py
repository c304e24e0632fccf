"""`modelport invocations` against the real API, gateway intake and workers over HTTP, with a
real HTTP echo replica (tests/unit/sdk/async_live_server.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.async_live_server import AsyncLiveServer, echo_replica, with_chat_endpoints

CHAT = {"messages": [{"role": "user", "content": "hi"}]}
PATH = "v1/chat/completions"


def said(result: Result) -> str:
    """The output's words on one line: Typer boxes and wraps usage errors."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[AsyncLiveServer]:
    with with_chat_endpoints(tmp_path) as running:
        yield running


def test_submit_wait_get_result_and_ls(srv: AsyncLiveServer, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text(json.dumps(CHAT))
    with echo_replica() as port:
        srv.ready_replica("chat", port)
        submit = ("invocations", "submit", "chat", PATH)
        done = json_out(run(srv, *submit, "-d", f"@{body}", "--wait", "--json"))
        table = run(srv, *submit, "--data", '{"n": 2}', "--wait")
    assert done["status"] == "completed" and done["response_status"] == 200
    assert done["result"] == {"path": "/v1/chat/completions", "echo": CHAT}
    assert table.exit_code == 0, table.output
    assert "completed" in table.stdout and '"n": 2' in table.stdout  # panel, then the result

    got = json_out(run(srv, "invocations", "get", "chat", done["id"], "--json"))
    assert got["result"] == done["result"]
    bare = run(srv, "invocations", "get", "chat", done["id"], "--result")
    assert json.loads(bare.stdout) == done["result"]  # only the answer, for a pipe
    shown = run(srv, "invocations", "get", "chat", done["id"])
    assert done["id"] in shown.stdout and "result at" in shown.stdout

    listed = json_out(run(srv, "invocations", "ls", "chat", "--json"))
    assert listed["total"] == 2 and listed["items"][1]["id"] == done["id"]  # newest first
    page = run(srv, "invocations", "ls", "chat", "--limit", "1", "--status", "completed")
    assert page.exit_code == 0, page.output
    assert "completed" in page.stdout and "1 of 2; more with --offset 1" in page.stderr


def test_submit_queues_and_cancel(srv: AsyncLiveServer) -> None:
    args = ("invocations", "submit", "chat", PATH, "-d", "{}", "--idempotency-key", "k-1")
    accepted = json_out(run(srv, *args, "--json"))
    assert accepted["status"] == "queued"
    assert json_out(run(srv, *args, "--json"))["id"] == accepted["id"]  # same key, same one
    table = run(srv, "invocations", "submit", "chat", PATH, "-d", "{}")
    assert table.exit_code == 0 and "queued" in table.stdout and "inv-" in table.stdout

    no_result = run(srv, "invocations", "get", "chat", accepted["id"], "--result")
    assert no_result.exit_code == 1 and "no result yet" in no_result.stderr

    canceled = run(srv, "invocations", "cancel", "chat", accepted["id"])
    assert canceled.exit_code == 0 and "canceled" in canceled.stdout
    again = run(srv, "invocations", "cancel", "chat", accepted["id"])
    assert again.exit_code == 1
    assert "only a queued one can be canceled" in said(again)
    assert f"modelport invocations get chat {accepted['id']}" in said(again)
    listed = json_out(run(srv, "invocations", "ls", "chat", "--status", "canceled", "--json"))
    assert [i["id"] for i in listed["items"]] == [accepted["id"]]


def test_wait_timeout_and_failures_exit_1(srv: AsyncLiveServer) -> None:
    timed = run(
        srv, "invocations", "submit", "chat", PATH, "-d", "{}", "--wait", "--timeout", "0.2"
    )
    assert timed.exit_code == 1
    assert "still queued" in timed.stderr and "modelport invocations get chat inv-" in said(timed)
    with echo_replica() as port:
        srv.ready_replica("chat", port)
        failed = run(srv, "invocations", "submit", "chat", "v1/bad", "-d", "{}", "--wait")
    assert failed.exit_code == 1
    assert "failed" in failed.stdout and "error: invocation inv-" in failed.stderr


def test_async_off_says_how_to_enable_and_enable_works(srv: AsyncLiveServer) -> None:
    off = run(srv, "invocations", "submit", "sync", PATH, "-d", "{}")
    assert off.exit_code == 1
    assert "spec.async_config.enabled" in off.stderr
    assert "modelport invocations enable sync" in said(off)

    before = srv.endpoint("sync")
    on = run(srv, "invocations", "enable", "sync", "--workers", "3")
    assert on.exit_code == 0, on.output
    assert "3 worker(s)" in on.stdout
    after = srv.endpoint("sync")
    assert after.spec.async_config.enabled and after.spec.async_config.concurrent_workers == 3
    assert after.template_generation == before.template_generation  # no rollout
    assert run(srv, "invocations", "submit", "sync", PATH, "-d", "{}").exit_code == 0

    assert run(srv, "invocations", "disable", "sync").exit_code == 0
    assert not srv.endpoint("sync").spec.async_config.enabled


def test_bad_input_is_named(srv: AsyncLiveServer, tmp_path: Path) -> None:
    bad_json = run(srv, "invocations", "submit", "chat", PATH, "-d", "{nope")
    assert bad_json.exit_code == 2 and "--data" in said(bad_json) and "not JSON" in said(bad_json)
    missing = run(srv, "invocations", "submit", "chat", PATH, "-d", f"@{tmp_path / 'none.json'}")
    assert missing.exit_code == 2 and "cannot read" in said(missing)
    unknown = run(srv, "invocations", "get", "chat", "inv-nope")
    assert unknown.exit_code == 1 and "modelport invocations ls chat" in said(unknown)
    bad_status = run(srv, "invocations", "ls", "chat", "--status", "sleeping")
    assert bad_status.exit_code == 2 and "--status" in said(bad_status)
