"""`modelport invocations` end to end, as a user runs it: the CLI as a subprocess against a real
`modelport server` with a real llama.cpp replica. Deploy, turn async on with the CLI, submit a
chat and wait for the model's answer, read it back with get --result, find it with ls --json."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess, serving

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

NAME = "chat"
CHAT = {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 8}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with serving(ServerProcess(tmp_path_factory.mktemp("mp-home"))) as srv:
        yield srv


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    return done.stdout


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(_ok(done))


def test_submit_wait_result_and_ls_through_the_cli(
    server: ServerProcess, smollm2_path: Path, tmp_path: Path
) -> None:
    deploy = ("deploy", NAME, "--framework", "llamacpp", "--model", str(smollm2_path))
    _ok(server.cli(*deploy, "--engine-arg", "n_ctx=2048"))

    refused = server.cli("invocations", "submit", NAME, "v1/chat/completions", "-d", "{}")
    assert refused.returncode == 1
    assert f"modelport invocations enable {NAME}" in " ".join(refused.stderr.split())
    _ok(server.cli("invocations", "enable", NAME, "--workers", "2"))

    body = tmp_path / "chat.json"
    body.write_text(json.dumps(CHAT))
    submit = ("invocations", "submit", NAME, "v1/chat/completions", "-d", f"@{body}")
    done = _json(server.cli(*submit, "--idempotency-key", "cli-1", "--wait", "--json"))
    assert done["status"] == "completed", done
    assert done["response_status"] == 200 and done["attempts"] == 1
    answer = done["result"]["choices"][0]["message"]["content"]
    assert isinstance(answer, str) and answer
    assert Path(done["result_location"]).name == f"{done['id']}.json"

    # The same key is the same invocation, already completed.
    again = _json(server.cli(*submit, "--idempotency-key", "cli-1", "--json"))
    assert (again["id"], again["status"]) == (done["id"], "completed")

    result = json.loads(_ok(server.cli("invocations", "get", NAME, done["id"], "--result")))
    assert result == done["result"]

    queued = _json(server.cli(*submit, "--json"))
    listed = _json(server.cli("invocations", "ls", NAME, "--json"))
    assert [i["id"] for i in listed["items"]] == [queued["id"], done["id"]]  # newest first
    completed = _json(server.cli("invocations", "ls", NAME, "--status", "completed", "--json"))
    assert done["id"] in [i["id"] for i in completed["items"]]

    table = _ok(server.cli("invocations", "ls", NAME))
    assert done["id"] in table and "completed" in table
