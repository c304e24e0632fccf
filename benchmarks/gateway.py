"""Gateway overhead: direct-to-replica vs nginx-as-proxy vs Modelport's gateway, in one run.

The replica is nginx answering a small OpenAI-shaped JSON body (so the replica itself costs
next to nothing and what is measured is the proxy). Every target gets the same request:
`POST /v1/chat/completions` with `{"model": "bench", ...}`; Modelport routes it by the body's
model, with auth on (a real token checked against a real store).

Modelport runs as the real `modelport server` (endpoint `bench`, framework `custom`, whose
command launches the nginx replica) when that server is available, otherwise as the gateway
app alone under uvicorn + uvloop + httptools (benchmarks/upstream/gateway_only.py).

    python benchmarks/gateway.py [--seconds 10] [--mode auto|server|gateway] [--no-append]

Appends a dated section to benchmarks/RESULTS.md. Installs Debian nginx and wrk if missing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
LAUNCH_NGINX = HERE / "upstream" / "launch_nginx.py"
GATEWAY_ONLY = HERE / "upstream" / "gateway_only.py"
RESULTS = HERE / "RESULTS.md"
BODY = '{"model":"bench","messages":[{"role":"user","content":"Say hi"}],"max_tokens":16}'
PATH = "/v1/chat/completions"


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx responses plus socket errors


def ensure_tools() -> None:
    missing = [pkg for pkg, exe in (("nginx", "nginx"), ("wrk", "wrk")) if not _which(exe)]
    if missing:
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", *missing], check=True)


def _which(exe: str) -> str | None:
    return shutil.which(exe) or shutil.which(exe, path="/usr/sbin:/usr/bin")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextlib.contextmanager
def process(
    argv: list[str], log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session, stopped with its whole process group."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_wrk(
    url: str, connections: int, threads: int, seconds: int, token: str | None, workdir: Path
) -> WrkResult:
    script = workdir / "post.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    script.write_text(
        f"wrk.method = \"POST\"\nwrk.body = '{BODY}'\n"
        f'wrk.headers["Content-Type"] = "application/json"\n{auth}'
    )
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return WrkResult(rps, _percentile(out, "50"), _percentile(out, "99"), errors)


def _percentile(out: str, pct: str) -> float:
    match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {pct}% line in wrk output:\n{out}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(
    name: str, url: str, token: str | None, seconds: int, workdir: Path
) -> dict[str, WrkResult]:
    # Warm the connection pools (and the token cache) first; these runs are not recorded.
    run_wrk(url, 64, 2, 2, token, workdir)
    single = run_wrk(url, 1, 1, seconds, token, workdir)
    loaded = run_wrk(url, 64, 2, seconds, token, workdir)
    print(
        f"{name:12s} c1 p50 {single.p50_ms:.3f} ms  p99 {single.p99_ms:.3f} ms   "
        f"c64 {loaded.rps:,.0f} req/s  errors {single.errors + loaded.errors}",
        flush=True,
    )
    return {"c1": single, "c64": loaded}


def server_available() -> bool:
    probe = [sys.executable, "-c", "import modelport.server.components, modelport.cli.main"]
    return subprocess.run(probe, capture_output=True).returncode == 0


@contextlib.contextmanager
def modelport_server(workdir: Path) -> Iterator[tuple[str, str, int]]:
    """The real server with endpoint `bench` (a custom nginx replica).

    Yields (base URL, admin token, replica port).
    """
    home, port = workdir / "home", free_port()
    env = {
        **os.environ,
        "MODELPORT_HOME": str(home),
        "MODELPORT_PORT": str(port),
        "MODELPORT_HOST": "127.0.0.1",
        "MODELPORT_LOG_LEVEL": "warning",
    }
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "modelport.cli.main", "server"]
    with process(argv, workdir / "server.log", env):
        wait_for_port(port, 60)
        token = (home / "admin-token").read_text().strip()
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        command = [sys.executable, str(LAUNCH_NGINX), "upstream", "--port", "{port}"]
        spec = {
            "framework": "custom",
            "command": command,
            "readiness": {"protocol": "http", "path": "/", "period_seconds": 0.5},
        }
        api.post("/api/v1/endpoints", json={"name": "bench", "spec": spec}).raise_for_status()
        replica_pid = None
        try:
            replica_port, replica_pid = _wait_ready(api)
            yield base, token, replica_port
        finally:
            api.delete("/api/v1/endpoints/bench")
            time.sleep(2)  # let the controller stop the replica
            if replica_pid is not None:  # and make sure it is gone, whatever happened
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(replica_pid, signal.SIGTERM)


def _wait_ready(api: httpx.Client, timeout: float = 60) -> tuple[int, int | None]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        endpoint = api.get("/api/v1/endpoints/bench").json()
        if endpoint.get("phase") == "ready":
            items = api.get("/api/v1/endpoints/bench/replicas").json()["items"]
            handle = next(r["handle"] for r in items if r["state"] == "ready")
            return int(handle["port"]), handle.get("pid")
        time.sleep(0.25)
    raise RuntimeError("endpoint 'bench' did not become ready in time")


@contextlib.contextmanager
def gateway_only(workdir: Path, upstream_port: int) -> Iterator[tuple[str, str]]:
    port = free_port()
    argv = [
        sys.executable,
        str(GATEWAY_ONLY),
        "--port",
        str(port),
        "--upstream",
        f"127.0.0.1:{upstream_port}",
        "--home",
        str(workdir / "gw-home"),
    ]
    log = workdir / "gateway.log"
    with process(argv, log):
        wait_for_port(port, 60)
        line = next(ln for ln in log.read_text().splitlines() if ln.startswith("{"))
        yield f"http://127.0.0.1:{port}", json.loads(line)["token"]


@contextlib.contextmanager
def nginx(kind: str, port: int, workdir: Path, upstream: str | None = None) -> Iterator[None]:
    argv = [sys.executable, str(LAUNCH_NGINX), kind, "--port", str(port)]
    if upstream:
        argv += ["--upstream", upstream]
    with process(argv, workdir / f"nginx-{kind}.log"):
        wait_for_port(port)
        yield


def run(seconds: int, mode: str) -> tuple[str, dict[str, dict[str, WrkResult]]]:
    with tempfile.TemporaryDirectory(prefix="mp-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        use_server = mode == "server" or (mode == "auto" and server_available())
        if use_server:
            base, token, upstream_port = stack.enter_context(modelport_server(workdir))
            label = "modelport server (API + controller + gateway in one process)"
        else:
            upstream_port = free_port()
            stack.enter_context(nginx("upstream", upstream_port, workdir))
            base, token = stack.enter_context(gateway_only(workdir, upstream_port))
            label = "gateway app alone under uvicorn (uvloop + httptools), real SqlStore + token"
        proxy_port = free_port()
        stack.enter_context(nginx("proxy", proxy_port, workdir, f"127.0.0.1:{upstream_port}"))
        targets = [
            ("direct", f"http://127.0.0.1:{upstream_port}{PATH}", None),
            ("nginx-proxy", f"http://127.0.0.1:{proxy_port}{PATH}", None),
            ("modelport", f"{base}{PATH}", token),
        ]
        results = {name: measure(name, url, tok, seconds, workdir) for name, url, tok in targets}
        return label, results


def machine() -> str:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, Python "
        f"{platform.python_version()}, {nginx_version}, wrk"
    )


def report(label: str, results: dict[str, dict[str, WrkResult]], seconds: int) -> str:
    direct, proxy, ours = results["direct"], results["nginx-proxy"], results["modelport"]
    rows = "\n".join(
        f"| {name} | {r['c1'].p50_ms:.3f} | {r['c1'].p99_ms:.3f} | {r['c64'].rps:,.0f} | "
        f"{r['c1'].errors + r['c64'].errors} |"
        for name, r in results.items()
    )
    ours_p50 = ours["c1"].p50_ms - direct["c1"].p50_ms
    proxy_p50 = proxy["c1"].p50_ms - direct["c1"].p50_ms
    ours_p99 = ours["c1"].p99_ms - direct["c1"].p99_ms
    proxy_p99 = proxy["c1"].p99_ms - direct["c1"].p99_ms
    ratio = ours["c64"].rps / proxy["c64"].rps
    return f"""
## Gateway overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC

Machine: {machine()}. Modelport: {label}. nginx: 1 worker for the replica and 1 for the proxy
(the gateway is one process too). Request: `POST {PATH}` with a {len(BODY)}-byte JSON body,
answered with a 274-byte JSON body. wrk {seconds}s per run: `-t1 -c1 --latency` for latency,
`-t2 -c64` for throughput, after a 2s warm-up. wrk, both nginx and the gateway share the CPUs.

| target | p50 c1 (ms) | p99 c1 (ms) | req/s c64 | errors |
|---|---|---|---|---|
{rows}

- Added latency at p50: Modelport {ours_p50:+.3f} ms, nginx-proxy {proxy_p50:+.3f} ms
  (target: Modelport <= 1 ms).
- Added latency at p99: Modelport {ours_p99:+.3f} ms, nginx-proxy {proxy_p99:+.3f} ms.
- Throughput Modelport / nginx-proxy at c64: {ratio:.2f} (target >= 0.25, goal 0.5).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--mode", choices=["auto", "server", "gateway"], default="auto")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()
    ensure_tools()
    label, results = run(args.seconds, args.mode)
    section = report(label, results, args.seconds)
    print(section)
    if not args.no_append:
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in benchmarks/.\n")
        with RESULTS.open("a") as out:
            out.write(section)


if __name__ == "__main__":
    main()
