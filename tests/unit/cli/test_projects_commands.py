"""`modelport projects`: the server admin's commands, as an operator types them."""

from __future__ import annotations

from modelport.sdk import Client
from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import WEB_SPEC, LiveServer


def test_create_set_and_list_projects(server: LiveServer) -> None:
    created = json_out(run(server, "projects", "create", "team-b", "--json"))
    team_token = created["admin_token"]
    assert created["host_access"] is False

    table = run(server, "projects", "create", "team-c")
    assert table.exit_code == 0, table.output
    assert "admin token: mp_" in table.stdout

    limited = json_out(
        run(
            server,
            "projects",
            "set",
            "team-b",
            "--max-endpoints",
            "3",
            "--max-gpus",
            "none",
            "--host-access",
            "--json",
        )
    )
    assert limited["limits"]["max_endpoints"] == 3 and limited["limits"]["max_gpus"] is None
    assert limited["host_access"] is True

    listing = run(server, "projects", "ls")
    assert listing.exit_code == 0, listing.output
    assert "team-b" in listing.stdout and "team-c" in listing.stdout
    assert [p["name"] for p in json_out(run(server, "projects", "ls", "--json"))["items"]] == [
        "default",
        "team-b",
        "team-c",
    ]
    # A project's own admin sees only its project and may not change it.
    mine = json_out(run(server, "projects", "ls", "--json", token=team_token))
    assert [p["name"] for p in mine["items"]] == ["team-b"]
    refused = run(server, "projects", "set", "team-b", "--no-host-access", token=team_token)
    assert refused.exit_code == 1
    assert "only the server admin" in refused.stderr


def test_set_needs_a_change_and_numbers(server: LiveServer) -> None:
    json_out(run(server, "projects", "create", "team-b", "--json"))
    assert run(server, "projects", "set", "team-b").exit_code == 2
    bad = run(server, "projects", "set", "team-b", "--max-replicas", "many")
    assert bad.exit_code == 2
    assert "--max-replicas" in bad.output


def test_a_refused_spec_says_which_permission_is_missing(server: LiveServer) -> None:
    team_token = json_out(run(server, "projects", "create", "team-b", "--json"))["admin_token"]
    minted = json_out(
        run(server, "projects", "token", "team-b", "dev", "--role", "member", "--json")
    )
    assert minted["role"] == "member"
    with Client(server.url, minted["token"]) as client:
        assert client.whoami().project == "team-b"
    command = " ".join(str(part) for part in WEB_SPEC["command"])
    result = run(
        server, "deploy", "web", "--framework", "custom", "--command", command, token=team_token
    )
    assert result.exit_code == 1, result.output
    assert "spec.command" in result.stderr and "host access" in result.stderr
