from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from modelport.cli.main import app
from tests.unit.sdk.live_server import LiveServer


def run(server: LiveServer | None, *args: str, token: str | None = None) -> Result:
    """Invoke `modelport` in-process with --url/--token of the live server."""
    options: list[str] = []
    if server is not None:
        options = ["--url", server.url, "--token", token or server.admin_token]
    return CliRunner().invoke(app, [*options, *args])


def json_out(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
