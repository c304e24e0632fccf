"""`modelport integrations` against the real API over HTTP (tests/unit/sdk/live_server.py):
secrets read from stdin or the environment, a warning when one is given as an argument, and
never printed back."""

from __future__ import annotations

import json
from collections.abc import Mapping

from typer.testing import CliRunner, Result

from modelport.cli.main import app
from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import LiveServer

TOKEN = "hf_cli-token-0123456789"
PASSWORD = "cli-registry-pass-0123456789"


def run_with(
    server: LiveServer, *args: str, stdin: str = "", env: Mapping[str, str] | None = None
) -> Result:
    options = ["--url", server.url, "--token", server.admin_token]
    return CliRunner().invoke(app, [*options, *args], input=stdin, env=dict(env or {}))


def test_add_from_stdin_and_env_ls_get_rotate_rm(server: LiveServer) -> None:
    hub = json_out(
        run_with(
            server, "integrations", "add", "hub", "--kind", "hugging_face",
            "--token-stdin", "--json", stdin=TOKEN + "\n",
        )
    )  # fmt: skip
    assert hub["name"] == "hub" and hub["secret_set"] is True and hub["version"] == 1
    added = run_with(
        server, "integrations", "add", "reg", "--kind", "registry", "--server",
        "127.0.0.1:5000", "--username", "puller", "--password-env", "REG_PASS",
        env={"REG_PASS": PASSWORD},
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "reg" in added.stdout and "server=127.0.0.1:5000" in added.stdout

    table = run(server, "integrations", "ls")
    assert table.exit_code == 0, table.output
    assert "hub" in table.stdout and "sealed" in table.stdout
    listed = json_out(run(server, "integrations", "ls", "--json"))
    assert [i["name"] for i in listed["items"]] == ["hub", "reg"]
    assert json_out(run(server, "integrations", "get", str(hub["id"]), "--json"))["name"] == "hub"

    rotated = json_out(
        run_with(
            server, "integrations", "rotate", "reg", "--password-stdin", "--json",
            stdin="new-pass\n",
        )
    )  # fmt: skip
    assert rotated["version"] == 2 and rotated["rotated_at"] > hub["rotated_at"]

    gone = json_out(run(server, "integrations", "rm", "hub", "--json"))
    assert gone == {"deleted": "hub"}
    assert run(server, "integrations", "rm", "reg").stdout.strip() == "integration reg deleted"
    assert json_out(run(server, "integrations", "ls", "--json")) == {"items": []}

    everything = " ".join(
        r.output for r in (added, table, run(server, "integrations", "ls", "--json"))
    )
    assert TOKEN not in everything and PASSWORD not in everything


def test_a_secret_given_as_an_argument_works_but_warns(server: LiveServer) -> None:
    args = ("integrations", "add", "hub", "--kind", "hugging_face", "--token", TOKEN)
    result = run(server, *args)
    assert result.exit_code == 0, result.output
    assert "warning: --token on the command line" in result.stderr
    assert "--token-stdin" in result.stderr and TOKEN not in result.output


def test_bad_input(server: LiveServer) -> None:
    missing_env = run_with(
        server, "integrations", "add", "hub", "--kind", "hugging_face", "--token-env", "NOPE"
    )
    assert missing_env.exit_code == 2 and "$NOPE is not set" in missing_env.output
    twice = run_with(
        server, "integrations", "add", "hub", "--kind", "hugging_face", "--token", "a",
        "--token-env", "X", env={"X": "b"},
    )  # fmt: skip
    assert twice.exit_code == 2 and "one way" in twice.output
    no_token = run(server, "integrations", "add", "hub", "--kind", "hugging_face")
    assert no_token.exit_code == 1 and "token" in no_token.stderr
    assert run(server, "integrations", "rm", "nothing").exit_code == 1
    assert json.loads(run(server, "integrations", "ls", "--json").stdout) == {"items": []}
