"""`modelport server --gateway-workers 2`, end to end: a real server (main process + one worker
on one port), real replicas (a small HTTP server run as a `custom` endpoint), real SQLite.

Each test picks the process it talks to (tests/support/processes.py: a new connection lands on
whichever process the kernel chooses, and `/proc` says which one accepted it).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import connect_to, main_pid, serving_pair, workers_of
from tests.support.server import ServerProcess, kill_replicas

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

# The replica: answers readiness at once, chat after `delay` seconds (from the body), with its
# own port so a test sees which replica served; GET /state says how many requests it holds.
REPLICA = r"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
held = [0]
lock = threading.Lock()
port = int(sys.argv[1])
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass
    def _answer(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        self._answer({"held": held[0]} if self.path == "/state" else {"ok": True})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        with lock:
            held[0] += 1
        try:
            time.sleep(float(body.get("delay", 0)))
        finally:
            with lock:
                held[0] -= 1
        self._answer({"port": port, "choices": [{"message": {"content": "hi"}}]})
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""

SLOW = 4.0  # seconds a slow request takes at the replica


@pytest.fixture(scope="module")
def replica_script() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="mp-workers-"))
    folder.chmod(0o755)  # replicas may run as their own uid
    script = folder / "replica.py"
    script.write_text(REPLICA)
    script.chmod(0o644)
    return script


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path_factory.mktemp("mp-workers"), extra_env={"MODELPORT_GATEWAY_WORKERS": "2"}
    )
    srv.start()
    run_dirs = list(Path("/dev/shm").glob(f"modelport-run-{main_pid(srv)}-*"))
    try:
        yield srv
    finally:
        handles = srv.replica_handles() if srv.proc and srv.proc.poll() is None else []
        srv.stop()
        kill_replicas(handles)
    # The shared segment and metric files go with a server stopped by SIGTERM.
    assert len(run_dirs) == 1 and not run_dirs[0].exists()


def call(
    conn: http.client.HTTPConnection, method: str, path: str, token: str, body: Any = None
) -> tuple[int, Any]:
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": f"Bearer {token}", "content-type": "application/json"}
    conn.request(method, path, body=payload, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return response.status, json.loads(data) if data else None


def chat(conn: http.client.HTTPConnection, token: str, name: str, delay: float = 0) -> Any:
    status, answer = call(
        conn, "POST", "/v1/chat/completions", token,
        {"model": name, "messages": [{"role": "user", "content": "hi"}], "delay": delay},
    )  # fmt: skip
    assert status == 200, answer
    return answer


def poll(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.fixture
def two(server: ServerProcess) -> tuple[int, int]:
    """(main pid, worker pid), once the worker serves."""
    return serving_pair(server)


def create(srv: ServerProcess, conn: http.client.HTTPConnection, name: str, script: Path,
           replicas: int = 1) -> None:  # fmt: skip
    spec = {
        "framework": "custom", "command": [sys.executable, str(script), "{port}"],
        "replicas": replicas, "readiness": {"protocol": "http", "path": "/", "period_seconds": 0.5},
    }  # fmt: skip
    status, answer = call(conn, "POST", "/api/v1/endpoints", srv.admin_token,
                          {"name": name, "spec": spec})  # fmt: skip
    assert status == 201, answer


def replica_ports(srv: ServerProcess, name: str) -> list[int]:
    with srv.api() as api:
        items = api.get(f"/api/v1/endpoints/{name}/replicas").json()["items"]
    return [int(r["handle"]["port"]) for r in items if r["state"] == "ready"]


def held_at(port: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", "/state")
    return int(json.loads(conn.getresponse().read())["held"])


# --- tests -------------------------------------------------------------------------------------
def test_both_processes_serve_the_port(server: ServerProcess, two: tuple[int, int]) -> None:
    for pid in two:
        conn = connect_to(server, pid)
        status, models = call(conn, "GET", "/v1/models", server.admin_token)
        assert status == 200 and models["object"] == "list"
        status, endpoints = call(conn, "GET", "/api/v1/endpoints", server.admin_token)
        assert status == 200 and "items" in endpoints


def test_a_token_created_on_one_process_works_at_once_on_the_other(
    server: ServerProcess, two: tuple[int, int]
) -> None:
    for here, there in (two, two[::-1]):
        created_on, used_on = connect_to(server, here), connect_to(server, there)
        status, token = call(created_on, "POST", "/api/v1/tokens", server.admin_token,
                             {"name": f"tok-{here}"})  # fmt: skip
        assert status == 201, token
        status, models = call(used_on, "GET", "/v1/models", token["token"])
        assert status == 200, models


def test_an_endpoint_created_on_one_process_is_routed_at_once_by_the_other(
    server: ServerProcess, two: tuple[int, int], replica_script: Path
) -> None:
    main, worker = two
    on_main, on_worker = connect_to(server, main), connect_to(server, worker)
    create(server, on_main, "made-on-main", replica_script)
    status, models = call(on_worker, "GET", "/v1/models", server.admin_token)
    assert status == 200 and "made-on-main" in [m["id"] for m in models["data"]]
    # Sent before its replica is READY: held on the worker, served once the replica is up.
    assert chat(on_worker, server.admin_token, "made-on-main")["port"] > 0
    create(server, on_worker, "made-on-worker", replica_script)
    status, models = call(on_main, "GET", "/v1/models", server.admin_token)
    assert "made-on-worker" in [m["id"] for m in models["data"]]
    assert chat(on_main, server.admin_token, "made-on-worker")["port"] > 0


def test_the_balancer_counts_what_the_other_process_has_in_flight(
    server: ServerProcess, two: tuple[int, int], replica_script: Path
) -> None:
    main, worker = two
    name = "balanced"
    create(server, connect_to(server, main), name, replica_script, replicas=2)
    poll(lambda: len(replica_ports(server, name)) == 2, "both replicas are READY")
    token = server.admin_token
    slow = threading.Thread(target=chat, args=(connect_to(server, worker), token, name, SLOW))
    slow.start()
    ports = replica_ports(server, name)
    poll(lambda: sum(held_at(p) for p in ports) == 1, "the slow request reached a replica")
    busy = next(p for p in ports if held_at(p) == 1)
    on_main = connect_to(server, main)
    served = {chat(on_main, token, name)["port"] for _ in range(6)}
    slow.join()
    assert served == set(ports) - {busy}  # least outstanding over both processes' requests


def test_a_replica_drains_only_when_no_process_has_a_request_in_it(
    server: ServerProcess, two: tuple[int, int], replica_script: Path
) -> None:
    main, worker = two
    name = "draining"
    create(server, connect_to(server, main), name, replica_script)
    poll(lambda: len(replica_ports(server, name)) == 1, "the replica is READY")
    answers: list[Any] = []
    on_worker = connect_to(server, worker)
    slow = threading.Thread(target=lambda: answers.append(chat(on_worker, server.admin_token,
                                                               name, SLOW)))  # fmt: skip
    slow.start()
    port = replica_ports(server, name)[0]
    poll(lambda: held_at(port) == 1, "the slow request reached the replica")
    status, _ = call(connect_to(server, main), "POST", f"/api/v1/endpoints/{name}/stop",
                     server.admin_token)  # fmt: skip
    assert status in (200, 202)
    slow.join()
    assert answers and answers[0]["port"] == port  # served whole while the replica drained
    poll(lambda: not replica_ports(server, name), "the replica is stopped once idle")


def scrape(
    conn: http.client.HTTPConnection,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_show_the_whole_server_whichever_process_answers_the_scrape(
    server: ServerProcess, two: tuple[int, int], replica_script: Path
) -> None:
    main, worker = two
    name = "metered"
    on_main, on_worker = connect_to(server, main), connect_to(server, worker)
    create(server, on_main, name, replica_script)
    for _ in range(3):
        chat(on_main, server.admin_token, name)
    for _ in range(2):
        chat(on_worker, server.admin_token, name)
    slow = threading.Thread(target=chat, args=(connect_to(server, worker), server.admin_token,
                                               name, SLOW))  # fmt: skip
    slow.start()
    port = replica_ports(server, name)[0]
    poll(lambda: held_at(port) == 1, "the slow request reached the replica")
    labels = (("endpoint", name),)
    for conn in (on_main, on_worker):
        seen = scrape(conn)
        assert seen[("modelport_gateway_requests_total", (("code", "200"), *labels))] == 5
        assert seen[("modelport_gateway_request_duration_seconds_count", labels)] == 5
        assert seen[("modelport_gateway_inflight_requests", labels)] == 1  # the worker's
    slow.join()
    assert scrape(on_main)[("modelport_gateway_inflight_requests", labels)] == 0


def listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds a listening socket on `port` (/proc: LISTEN is state 0A)."""
    inodes = {
        fields[9]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if (fields := line.split())[3] == "0A" and int(fields[1].split(":")[1], 16) == port
    }
    try:
        links = {os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()}
    except OSError:
        return False
    return any(f"socket:[{inode}]" in links for inode in inodes)


def test_a_killed_worker_is_replaced_and_accepts_only_with_its_routes_loaded(
    server: ServerProcess, two: tuple[int, int], replica_script: Path
) -> None:
    """The new worker's socket listens only once its startup (the route table's first read
    included) is done: its very first request finds an endpoint made before it started, instead
    of being held, or refused, on a process still starting."""
    main, worker = two
    create(server, connect_to(server, main), "before-restart", replica_script)
    poll(lambda: len(replica_ports(server, "before-restart")) == 1, "the replica is READY")
    started = "server process 1 started"
    before = server.log_path.read_text().count(started)
    os.kill(worker, signal.SIGKILL)
    poll(
        lambda: bool(workers_of(main_pid(server))) and workers_of(main_pid(server)) != [worker],
        "a new worker runs",
    )
    fresh = workers_of(main_pid(server))[0]
    poll(lambda: listens(fresh, server.port), "the new worker listens", timeout=120)
    assert server.log_path.read_text().count(started) == before + 1  # started, then listened
    first = connect_to(server, fresh)
    assert chat(first, server.admin_token, "before-restart")["port"] > 0
    status, _ = call(first, "GET", "/v1/models", server.admin_token)
    assert status == 200
