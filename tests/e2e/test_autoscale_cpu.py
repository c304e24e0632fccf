"""A `cpu` autoscaling rule end to end (E2E TIR's default metric): a real server, a real custom
engine whose requests burn CPU, real traffic through the gateway. The CPU the replica's process
uses drives 1 -> 2 replicas; idle again, it goes back to 1 after the stability period."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.test_autoscaling import _at, _scaled, _states
from tests.support.server import ServerProcess, running_server, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

STABILITY = 5.0
# 25 % of the replica's one core, per 1 s step, averaged over 2 s, scale-downs sized on the
# peak of the last 6 s. Low on purpose: a busy 2-core CI machine may give a spinning replica
# well under a whole core.
POLICY: dict[str, Any] = {
    "enabled": True,
    "min_replicas": 1,
    "max_replicas": 2,
    "stability_period_seconds": STABILITY,
    "rules": [
        {
            "metric": "cpu",
            "value": 25,
            "window_seconds": 2,
            "watch_period_seconds": 6,
            "granularity_seconds": 1,
        }
    ],
}

# An engine whose every POST spins the CPU for 0.3 s of wall time (so it uses what CPU it gets,
# whatever the machine's load); GET answers at once, idle it uses next to nothing.
BURNER = """
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self._answer(b'{"ok": true}')

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        end = time.monotonic() + 0.3
        while time.monotonic() < end:
            pass
        self._answer(b'{"burned": 0.3}')

    def _answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-cpu")) as srv:
        yield srv


class Burn:
    """Clients that POST to the endpoint back to back until stopped; every answer counted."""

    def __init__(self, srv: ServerProcess, name: str, threads: int) -> None:
        self._url = f"{srv.base_url}/endpoints/{name}/burn"
        self._headers = {"Authorization": f"Bearer {srv.admin_token}"}
        self._stop = threading.Event()
        self.statuses: list[int] = []
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def __enter__(self) -> Burn:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def _run(self) -> None:
        with httpx.Client(headers=self._headers, timeout=60) as client:
            while not self._stop.is_set():
                self.statuses.append(client.post(self._url, json={}).status_code)


def test_cpu_use_scales_up_and_idle_scales_back_down(server: ServerProcess) -> None:
    name = "cpu-burner"
    spec = {
        "framework": "custom",
        "command": [sys.executable, "-c", BURNER, "{port}"],
        "replicas": 1,
        "resources": {"cpu": 1},
        "autoscale": POLICY,
    }
    with server.api() as api:
        resp = api.post("/api/v1/endpoints", json={"name": name, "spec": spec})
    assert resp.status_code == 201, resp.text
    assert wait_until(lambda: _states(server, name) == ["ready"], timeout=120)

    with Burn(server, name, threads=3) as burn:
        assert wait_until(lambda: _states(server, name) == ["ready"] * 2, timeout=120)
    [up] = _scaled(server, name)
    assert up["message"].split(": ")[1].startswith("cpu "), up
    assert up["message"].endswith("1 -> 2"), up
    print(f"scale-up: {up['message']}")

    assert wait_until(lambda: _states(server, name) == ["ready"], timeout=120)
    down = _scaled(server, name)[-1]
    assert down["message"].startswith("scale_down: cpu peak"), down
    assert down["message"].endswith("2 -> 1"), down
    assert _at(down) - _at(up) >= STABILITY
    print(f"scale-down: {down['message']}")
    assert burn.statuses and set(burn.statuses) == {200}, "no request failed while scaling"
    with server.api() as api:
        api.delete(f"/api/v1/endpoints/{name}")
