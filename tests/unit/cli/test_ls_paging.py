"""`modelport ls` pages: --limit shows one page and the cursor to go on, --all follows it,
filters narrow; the SDK's all_endpoints walks every page."""

from __future__ import annotations

from modelport.sdk import Client, EndpointFilters
from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import LiveServer

CUSTOM = ("--framework", "custom", "--command", "python -m http.server {port}")


def test_ls_pages_filters_and_all(server: LiveServer) -> None:
    for name in ("a-1", "a-2", "a-3", "b-1"):
        result = run(server, "deploy", name, *CUSTOM, "--replicas", "0", "--no-wait", "--json")
        assert result.exit_code == 0, result.output
    first = json_out(run(server, "ls", "--limit", "2", "--json"))
    assert [e["name"] for e in first["items"]] == ["a-1", "a-2"]
    second = json_out(run(server, "ls", "--limit", "2", "--cursor", first["next_cursor"], "--json"))
    assert [e["name"] for e in second["items"]] == ["a-3", "b-1"]
    every = json_out(run(server, "ls", "--limit", "1", "--all", "--json"))
    assert [e["name"] for e in every["items"]] == ["a-1", "a-2", "a-3", "b-1"]
    narrowed = json_out(run(server, "ls", "--prefix", "a-", "--phase", "ready", "--json"))
    assert [e["name"] for e in narrowed["items"]] == ["a-1", "a-2", "a-3"]  # 0 wanted: ready
    table = run(server, "ls", "--limit", "3")
    assert "more: --cursor" in table.stderr
    bad = run(server, "ls", "--limit", "0")
    assert bad.exit_code != 0 and "limit" in bad.output

    with Client(server.url, token=server.admin_token) as client:
        names = [e.name for e in client.all_endpoints(EndpointFilters(name_prefix="a-"), 2)]
    assert names == ["a-1", "a-2", "a-3"]
