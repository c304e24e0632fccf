"""The first run (`make run` on a fresh machine), end to end: while the engine is still being
installed the server answers (API, /readyz, the dashboard) and reports the demo endpoint as
"engine installing"; once the install is done the endpoint becomes Ready by itself and answers
a chat. A failed install says so, with its log.

Real parts throughout: a fresh virtual environment holding everything but llama-cpp-python
(the main venv's packages linked in, the engine's left out), the real installer
(scripts/install-engine.py, started with --background as `make run` does) running real pip,
the real demo (`python -m modelport.server.demo`) and a real llama.cpp replica. The engine
comes from a package index this test serves on loopback (no network): a wheel of the
llama-cpp-python installed here, whose download the test holds until the server has said
"engine installing" (a slow download), so the order never depends on timing.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import venv
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelport.domain.specs import Framework
from modelport.engines.install_status import InstallState, read_install
from tests.conftest import need
from tests.support.server import ServerProcess, free_port, kill_replicas, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(240)]

ROOT = Path(__file__).resolve().parents[2]
INSTALLER = ROOT / "scripts" / "install-engine.py"
ENGINE_DIST = "llama-cpp-python"
DEMO = "smollm2"


def isolated_pip() -> dict[str, str]:
    """This environment for the installer, less any pip configuration: its pip sees only the
    test's index (a machine's extra indexes or find-links could offer another engine)."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**kept, "PIP_CONFIG_FILE": os.devnull}


def engine_wheel(dest: Path) -> Path:
    """A wheel of the llama-cpp-python installed here (its files and metadata, stored as is)."""
    dist = importlib.metadata.distribution(ENGINE_DIST)
    tags = [line[5:] for line in (dist.read_text("WHEEL") or "").splitlines() if "Tag: " in line]
    tag = tags[0]  # e.g. py3-none-linux_x86_64
    wheel = dest / f"llama_cpp_python-{dist.version}-{tag}.whl"
    skip = {"INSTALLER", "REQUESTED", "direct_url.json"}
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_STORED) as out:
        for file in dist.files or []:
            if file.suffix != ".pyc" and file.name not in skip:
                out.write(str(dist.locate_file(file)), str(file))
    return wheel


def venv_without_engine(root: Path) -> Path:
    """A new environment on this interpreter's base with every package of this one but the
    engine (linked, not copied): `pip install` of the engine completes it. Its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    dist = importlib.metadata.distribution(ENGINE_DIST)
    engine_tops = {Path(str(f)).parts[0] for f in dist.files or []}
    ours = Path(sysconfig.get_paths()["purelib"])
    theirs = root / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    for entry in ours.iterdir():
        if entry.name not in engine_tops and entry.name != "__pycache__":
            (theirs / entry.name).symlink_to(entry)
    return root / "bin" / "python"


class GatedIndex:
    """A package index on loopback serving one wheel, whose download trickles (a kilobyte a
    second) until `release`."""

    def __init__(self, wheel: Path) -> None:
        self.asked = threading.Event()  # pip asked for the wheel: the install is under way
        self.release = threading.Event()
        index = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.rstrip("/") == f"/simple/{ENGINE_DIST}":
                    body = f'<a href="/files/{wheel.name}">{wheel.name}</a>'.encode()
                    self._send(body, "text/html")
                elif self.path == f"/files/{wheel.name}":
                    index.asked.set()
                    self._send(wheel.read_bytes(), "application/octet-stream", index.release)
                else:
                    self.send_error(404)

            def _send(self, body: bytes, kind: str, gate: threading.Event | None = None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                sent = 0  # a trickle until the gate opens: pip waits, never times out
                while gate is not None and not gate.wait(timeout=1.0) and sent < len(body) // 2:
                    self.wfile.write(body[sent : sent + 1024])
                    sent += 1024
                self.wfile.write(body[sent:])

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/simple/"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.http.shutdown()


class DemoServer(ServerProcess):
    """`make run`'s foreground half, `python -m modelport.server.demo`, on a given python."""

    def __init__(self, home: Path, python: Path) -> None:
        super().__init__(home, extra_env={"MODELPORT_REPLICA_USER": "server"})
        self.python = python

    def start(self, timeout: float = 60) -> None:
        log = self.log_path.open("ab")
        argv = [str(self.python), "-m", "modelport.server.demo"]
        self.proc = subprocess.Popen(argv, env=self._env, stdout=log, stderr=subprocess.STDOUT)
        if not wait_until(self._answers, timeout, interval=0.2):
            raise RuntimeError(f"the demo server did not start:\n{self.output()[-4000:]}")

    def _answers(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"the demo server exited:\n{self.output()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        return False

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoServer, GatedIndex]]:
    """`make run` on a machine without the engine: the installer started in the background,
    then the demo server, at once."""
    need(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python is not installed")
    root = tmp_path_factory.mktemp("first-run")
    python = venv_without_engine(root / "venv")
    index = GatedIndex(engine_wheel(root))
    pip = [f"--pip-arg={a}" for a in (f"--index-url={index.url}", "--no-cache-dir", "--no-deps")]
    background = [str(python), str(INSTALLER), "--background", *pip]
    subprocess.run(background, check=True, timeout=60, env=isolated_pip())
    (root / "home").mkdir()
    srv = DemoServer(root / "home", python)
    try:
        srv.start(timeout=120)  # imports and migrates while the installer runs beside it
        yield srv, index
    finally:
        index.close()
        handles: list[dict[str, Any]] = []
        with contextlib.suppress(Exception):  # a start that failed early has no token yet
            handles = srv.replica_handles() if srv.proc and srv.proc.poll() is None else []
        srv.stop()
        kill_replicas(handles)
        install = read_install(Framework.LLAMACPP, prefix=root / "venv")
        if install is not None and install.state is InstallState.RUNNING:
            with contextlib.suppress(ProcessLookupError):
                os.kill(install.pid, signal.SIGTERM)  # the installer this fixture started


def test_the_server_answers_while_the_engine_installs_then_the_demo_gets_ready(
    first_run: tuple[DemoServer, GatedIndex],
) -> None:
    srv, index = first_run
    with srv.api() as api:
        assert api.get("/readyz").status_code == 200
        assert api.get("/ui/", follow_redirects=True).status_code == 200
        assert api.get("/tir/api/v1/", follow_redirects=True).status_code < 500  # a dialect

        def replica() -> dict[str, object]:
            found = api.get(f"/api/v1/endpoints/{DEMO}/replicas")
            items = found.json()["items"] if found.status_code == 200 else []
            return dict(items[0]) if items else {}

        # The demo endpoint is created at once; its replica waits for the engine.
        assert wait_until(lambda: replica().get("reason") == "EngineInstalling", 60, 0.3), (
            replica(),
            srv.output()[-3000:],
        )
        waiting = replica()
        assert waiting["state"] == "pending"
        assert str(waiting["detail"]).startswith("engine installing (")
        assert "elapsed" in str(waiting["detail"])
        wide = {**srv.env, "COLUMNS": "250"}  # the table's REASON cell on one line
        for command in (["replicas", DEMO], ["events", DEMO]):
            shown = subprocess.run(
                [sys.executable, "-m", "modelport.cli.main", *command],
                env=wide,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert "EngineInstalling" in shown.stdout and "engine installing (" in shown.stdout, (
                shown
            )
        events = api.get(f"/api/v1/endpoints/{DEMO}/events").json()["items"]
        assert "EngineInstalling" in [e["reason"] for e in events]
        assert index.asked.wait(60), "pip never asked for the engine's wheel"

        index.release.set()  # the download completes: pip installs the engine
        deadline = time.monotonic() + 150
        while api.get(f"/api/v1/endpoints/{DEMO}").json()["phase"] != "ready":
            assert time.monotonic() < deadline, (replica(), srv.output()[-3000:])
            time.sleep(0.5)
        assert replica()["restart_count"] == 0  # launched once the engine was there: no crash

        chat = api.post(
            "/v1/chat/completions",
            json={"model": DEMO, "max_tokens": 8, "messages": [{"role": "user", "content": "Hi"}]},
        )
        assert chat.status_code == 200, chat.text
        assert chat.json()["choices"][0]["message"]["content"]
    # The terminal told the story: the build's log, its progress, then the demo's examples.
    assert wait_until(lambda: f"Endpoint '{DEMO}' is ready" in srv.output(), 30)
    output = srv.output()
    assert "Build log: " in output and "llama.cpp installed in" in output


def test_a_failed_install_says_so_with_its_log(tmp_path: Path) -> None:
    need(importlib.util.find_spec("llama_cpp") is not None, "llama-cpp-python is not installed")
    python = venv_without_engine(tmp_path / "venv")
    nowhere = f"--pip-arg=--index-url=http://127.0.0.1:{free_port()}/simple/"
    quick = ["--pip-arg=--no-cache-dir", "--pip-arg=--retries=0", "--pip-arg=--timeout=2"]
    run = subprocess.run(
        [str(python), str(INSTALLER), nowhere, *quick],
        capture_output=True,
        text=True,
        timeout=120,
        env=isolated_pip(),
    )
    assert run.returncode != 0
    install = read_install(Framework.LLAMACPP, prefix=tmp_path / "venv")
    assert install is not None and install.state is InstallState.FAILED
    assert install.exit_code == run.returncode and install.tail
    assert install.log_path.startswith(str(tmp_path / "venv"))
    assert f"engine install failed (fetching llama.cpp, exit code {run.returncode}); log: " in (
        run.stderr
    )
    assert install.tail[-1] in run.stderr  # the log's last lines, not only "it failed"
