"""`modelport server` builds Settings from its flags and runs the real server until signalled."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import free_port

START_TIMEOUT = 60.0


@pytest.mark.e2e
def test_server_flags_then_cli_uses_its_admin_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "server-home"
    port = free_port()
    command = [sys.executable, "-c", "from modelport.cli.main import app; app()"]
    flags = ["server", "--host", "127.0.0.1", "--port", str(port), "--home", str(home)]
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen([*command, *flags], stdout=log, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)

        assert (home / "admin-token").exists()  # --home was used
        monkeypatch.setenv("MODELPORT_HOME", str(home))
        monkeypatch.setenv("MODELPORT_PORT", str(port))
        assert json_out(run(None, "whoami", "--json"))["role"] == "admin"
        assert json_out(run(None, "ls", "--json")) == {"items": [], "next_cursor": None}
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode in (0, 130)  # 130: the conventional status after Ctrl-C
    assert "Traceback" not in (tmp_path / "server.log").read_text()
