"""Gateway overhead: direct-to-replica vs nginx-as-proxy vs Modelport's gateway, in one run.

The replica is nginx answering a small OpenAI-shaped JSON body (so the replica itself costs
next to nothing and what is measured is the proxy). Every target gets the same request:
`POST /v1/chat/completions` with `{"model": "bench", ...}`; Modelport routes it by the body's
model, with auth on (a real token checked against a real store).

Modelport runs as the real `modelport server` (endpoint `bench`, framework `custom`, whose
command launches the nginx replica; the controller starts it and probes it READY) when that
server is available, otherwise as the gateway app alone under uvicorn + uvloop + httptools
(benchmarks/upstream/gateway_only.py). `--baseline REF` adds the previous design: the same mode
run from `src/` of commit REF (unpacked with `git archive`), measured in the same run.
`--profile` samples the gateway with py-spy during an extra c64 run (not a measured one) and
adds where its time goes.

    python benchmarks/gateway.py [--seconds 10] [--mode auto|server|gateway]
                                 [--baseline REF] [--profile] [--no-append]

Appends a dated section to benchmarks/RESULTS.md. Installs Debian nginx and wrk if missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    WrkResult,
    ensure_tools,
    export_tree,
    free_port,
    process,
    run_wrk,
    wait_for_port,
)
from report import report, summarize
from servers import modelport_gateway, modelport_server

HERE = Path(__file__).resolve().parent
LAUNCH_NGINX = HERE / "upstream" / "launch_nginx.py"
RESULTS = HERE / "RESULTS.md"
BODY = '{"model":"bench","messages":[{"role":"user","content":"Say hi"}],"max_tokens":16}'
PATH = "/v1/chat/completions"


@dataclass
class Target:
    name: str
    url: str
    token: str | None
    groups: dict[str, int]  # role ("proxy", "replica") -> process group, for CPU accounting


@contextlib.contextmanager
def nginx(kind: str, port: int, workdir: Path, upstream: str | None = None) -> Iterator[int]:
    """Yields the nginx process group."""
    argv = [sys.executable, str(LAUNCH_NGINX), kind, "--port", str(port)]
    if upstream:
        argv += ["--upstream", upstream]
    with process(argv, workdir / f"nginx-{kind}-{port}.log") as proc:
        wait_for_port(port)
        yield proc.pid


def measure(target: Target, seconds: int, workdir: Path) -> dict[str, WrkResult]:
    def wrk(connections: int, threads: int, duration: int, cpu: bool = False) -> WrkResult:
        return run_wrk(
            target.url, connections, threads, duration, target.token, workdir, BODY,
            target.groups if cpu else None,
        )  # fmt: skip

    wrk(64, 2, 2)  # warm the connection pools (and the token cache); not recorded
    single = wrk(1, 1, seconds)
    loaded = wrk(64, 2, seconds, cpu=True)
    print(
        f"{target.name:18s} c1 p50 {single.p50_ms:.3f} ms  p99 {single.p99_ms:.3f} ms   "
        f"c64 {loaded.rps:,.0f} req/s  errors {single.errors + loaded.errors}  cpu "
        + " ".join(f"{k} {v:.2f}" for k, v in loaded.cpu.items()),
        flush=True,
    )
    return {"c1": single, "c64": loaded}


def profile(target: Target, seconds: int, workdir: Path) -> str:
    """Where the gateway's time goes (py-spy, collapsed stacks) during one c64 run."""
    out = Path(tempfile.gettempdir()) / "modelport-gateway.pyspy"
    spy = Path(sys.executable).with_name("py-spy")
    argv = [str(spy), "record", "-p", str(target.groups["proxy"]), "-r", "250",
            "-d", str(seconds), "-f", "raw", "-o", str(out), "--nonblocking"]  # fmt: skip
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as spying:
        run_wrk(target.url, 64, 2, seconds, target.token, workdir, BODY)
        spying.wait()
    print(f"py-spy samples: {out}", flush=True)
    return summarize(out)


def use_server(mode: str) -> bool:
    if mode != "auto":
        return mode == "server"
    probe = [sys.executable, "-c", "import modelport.server.components, modelport.cli.main"]
    return subprocess.run(probe, capture_output=True).returncode == 0


@contextlib.contextmanager
def modelport(
    server: bool, workdir: Path, upstream: tuple[int, int] | None, src: Path | None = None
) -> Iterator[tuple[str, str, dict[str, int], int]]:
    """Yields (base URL, token, process groups, replica port) of a Modelport under test."""
    if server:
        with modelport_server(workdir, LAUNCH_NGINX, src) as running:
            yield running
        return
    assert upstream is not None
    port, pgid = upstream
    with modelport_gateway(workdir, port, src) as (base, token, gateway_pgid):
        yield base, token, {"proxy": gateway_pgid, "replica": pgid}, port


def run(
    seconds: int, mode: str, baseline: str | None, want_profile: bool
) -> tuple[str, dict[str, dict[str, WrkResult]], str | None]:
    server = use_server(mode)
    label = (
        "`modelport server` (API + controller + gateway in one process, replica started by "
        "the controller)"
        if server
        else "gateway app alone under uvicorn (uvloop + httptools), real SqlStore + token"
    )
    results: dict[str, dict[str, WrkResult]] = {}
    profiled = None
    with tempfile.TemporaryDirectory(prefix="mp-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        upstream = None
        if not server:
            port = free_port()
            upstream = (port, stack.enter_context(nginx("upstream", port, workdir)))
        with modelport(server, workdir / "current", upstream) as (base, token, groups, port):
            proxy_port = free_port()
            proxy = stack.enter_context(nginx("proxy", proxy_port, workdir, f"127.0.0.1:{port}"))
            replica = {"replica": groups["replica"]}
            proxied = {"proxy": proxy, **replica}
            targets = [
                Target("direct", f"http://127.0.0.1:{port}{PATH}", None, replica),
                Target("nginx-proxy", f"http://127.0.0.1:{proxy_port}{PATH}", None, proxied),
                Target("modelport", f"{base}{PATH}", token, groups),
            ]
            for target in targets:
                results[target.name] = measure(target, seconds, workdir)
            if want_profile:
                profiled = profile(targets[-1], seconds, workdir)
        if baseline:
            src = export_tree(HERE.parent, baseline, workdir / "baseline")
            with modelport(server, workdir / "baseline", upstream, src) as (base, token, g, _):
                target = Target(f"modelport@{baseline}", f"{base}{PATH}", token, g)
                results["baseline"] = measure(target, seconds, workdir)
    return label, results, profiled


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--mode", choices=["auto", "server", "gateway"], default="auto")
    parser.add_argument("--baseline", metavar="REF", help="also measure src/ of this commit")
    parser.add_argument("--profile", action="store_true", help="py-spy the gateway at c64")
    parser.add_argument("--no-append", action="store_true", help="print only")
    args = parser.parse_args()
    ensure_tools()
    label, results, profiled = run(args.seconds, args.mode, args.baseline, args.profile)
    section = report(label, results, args.seconds, len(BODY), PATH, args.baseline, profiled)
    print(section)
    if not args.no_append:
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in benchmarks/.\n")
        with RESULTS.open("a") as out:
            out.write(section)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
