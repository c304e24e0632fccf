"""Exit codes: 2 for usage errors, 1 for API and connection errors, with a hint and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import LiveServer, free_port


def test_missing_required_option_is_a_usage_error(server: LiveServer) -> None:
    result = run(server, "deploy", "web")
    assert result.exit_code == 2
    assert "--framework" in result.output


def test_malformed_engine_arg_is_a_usage_error(server: LiveServer) -> None:
    result = run(server, "deploy", "web", "--framework", "custom", "--engine-arg", "n_ctx")
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output


def test_patch_without_changes_is_a_usage_error(server: LiveServer) -> None:
    assert run(server, "patch", "web").exit_code == 2


def test_wrong_token_exits_1_with_a_hint(server: LiveServer) -> None:
    result = run(server, "ls", token="mp_wrong")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith("error: invalid or revoked token")
    assert "MODELPORT_TOKEN" in result.stderr and "admin-token" in result.stderr
    assert result.stdout == ""


def test_no_server_exits_1_and_says_how_to_start_it() -> None:
    result = run(None, "--url", f"http://127.0.0.1:{free_port()}", "ls")
    assert result.exit_code == 1
    assert "modelport server" in result.stderr
    assert "Traceback" not in result.output


def test_uses_the_admin_token_file_on_the_server_host(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_HOME", str(server.home))
    me = json_out(run(None, "--url", server.url, "whoami", "--json"))
    assert me["role"] == "admin"
    text = run(None, "--url", server.url, "whoami").stdout
    assert str(Path(server.home) / "admin-token") in text


def test_url_and_token_from_the_environment(
    server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODELPORT_URL", server.url)
    monkeypatch.setenv("MODELPORT_TOKEN", server.admin_token)
    assert json_out(run(None, "whoami", "--json"))["project"] == "default"


def test_tokens(server: LiveServer) -> None:
    created = json_out(run(server, "token", "create", "ci", "--role", "viewer", "--json"))
    assert created["token"].startswith("mp_")
    listed = json_out(run(server, "token", "ls", "--json"))
    assert created["id"] in [t["id"] for t in listed["items"]]
    assert "ci" in run(server, "token", "ls").stdout
    viewer = run(server, "deploy", "web", "--framework", "custom", "--command", "x", "--no-wait",
                 token=created["token"])  # fmt: skip
    assert viewer.exit_code == 1
    assert "hint:" in viewer.stderr
    assert run(server, "token", "revoke", str(created["id"])).exit_code == 0
    assert run(server, "whoami", token=created["token"]).exit_code == 1


def test_bad_role_is_a_usage_error(server: LiveServer) -> None:
    assert run(server, "token", "create", "ci", "--role", "god").exit_code == 2
