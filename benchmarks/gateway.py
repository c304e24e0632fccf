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
`--asgi` adds this checkout with the gateway fast path off (`MODELPORT_GATEWAY_FAST_PATH=0`:
gateway requests through uvicorn's ASGI cycle); the `modelport` target has it on. `--fresh`
starts every Modelport target anew each round (on a small shared VM one Python process can run
10-20 % faster or slower than the next start of the same code, for its whole life; medians over
fresh processes average that out).
`--profile` samples the gateway with py-spy during an extra c64 run (not a measured one) and
adds where its time goes.

    python benchmarks/gateway.py [--seconds 8] [--rounds 3] [--mode auto|server|gateway]
                                 [--baseline REF] [--asgi] [--fresh] [--profile] [--no-append]
    python benchmarks/gateway.py --workers [--seconds 8] [--rounds 3] [--record]

`--workers` measures instead the server with 1, 2 and one gateway process per core against nginx
with as many workers (benchmarks/worker_scaling.py); it appends to RESULTS.md only with
`--record` (numbers are recorded on a quiet machine).

Each round runs every target once (c1, then c64); rounds start when the machine is quiet (or
after 90 s of waiting) and the figures reported are medians over rounds.

Appends a dated section to benchmarks/RESULTS.md. Installs Debian nginx and wrk if missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    WrkResult,
    ensure_tools,
    export_tree,
    free_port,
    median_of,
    process,
    run_wrk,
    wait_for_port,
    wait_until_quiet,
)
from report import report, summarize
from servers import modelport_gateway, modelport_server
from worker_scaling import measure as measure_workers
from worker_scaling import report as report_workers
from worker_scaling import worker_counts

HERE = Path(__file__).resolve().parent
LAUNCH_NGINX = HERE / "upstream" / "launch_nginx.py"
RESULTS = HERE / "RESULTS.md"
BODY = '{"model":"bench","messages":[{"role":"user","content":"Say hi"}],"max_tokens":16}'
PATH = "/v1/chat/completions"
Results = dict[str, dict[str, WrkResult]]  # target -> "c1" / "c64" -> median over rounds
Running = tuple[str, str, dict[str, int], int]  # base URL, token, process groups, replica port
Starter = Callable[[], contextlib.AbstractContextManager[Running]]


@dataclass
class Target:
    name: str
    url: str
    token: str | None
    groups: dict[str, int]  # role ("proxy", "replica") -> process group, for CPU accounting
    start: Starter | None = None  # set: a fresh process per round (url, token, groups unused)


@contextlib.contextmanager
def nginx(kind: str, port: int, workdir: Path, upstream: str | None = None) -> Iterator[int]:
    """Yields the nginx process group."""
    argv = [sys.executable, str(LAUNCH_NGINX), kind, "--port", str(port)]
    if upstream:
        argv += ["--upstream", upstream]
    with process(argv, workdir / f"nginx-{kind}-{port}.log") as proc:
        wait_for_port(port)
        yield proc.pid


def wrk(target: Target, connections: int, threads: int, duration: int, workdir: Path) -> WrkResult:
    groups = target.groups if connections > 1 else None
    return run_wrk(target.url, connections, threads, duration, target.token, workdir, BODY, groups)


@contextlib.contextmanager
def live(target: Target, workdir: Path) -> Iterator[Target]:
    """The target itself, or a fresh process of it (warmed up) for as long as it is used."""
    if target.start is None:
        yield target
        return
    with target.start() as (base, token, groups, _):
        running = Target(target.name, f"{base}{PATH}", token, groups)
        wrk(running, 64, 2, 2, workdir)  # warm the connection pools and the token cache
        yield running


def measure(targets: list[Target], seconds: int, rounds: int, workdir: Path) -> Results:
    """Every target in turn, `rounds` times over (so drifting load hits them alike); medians."""
    for target in targets:
        if target.start is None:  # warm the connection pools (and the token cache)
            wrk(target, 64, 2, 2, workdir)
    runs: dict[str, dict[str, list[WrkResult]]] = {t.name: {"c1": [], "c64": []} for t in targets}
    for number in range(rounds):
        for target in targets:
            with live(target, workdir) as running:
                busy = wait_until_quiet()
                print(f"round {number + 1}/{rounds}, machine busy {busy:.2f} CPUs", flush=True)
                runs[target.name]["c1"].append(wrk(running, 1, 1, seconds, workdir))
                runs[target.name]["c64"].append(wrk(running, 64, 2, seconds, workdir))
            last = runs[target.name]["c64"][-1]
            print(f"  {target.name:18s} c64 {last.rps:8,.0f} req/s  " + " ".join(
                f"{k} {v:.2f}" for k, v in last.cpu.items()), flush=True)  # fmt: skip
    return {
        name: {"c1": median_of(by["c1"]), "c64": median_of(by["c64"])} for name, by in runs.items()
    }


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
    server: bool,
    workdir: Path,
    upstream: tuple[int, int] | None,
    src: Path | None = None,
    fast_path: bool = True,
) -> Iterator[tuple[str, str, dict[str, int], int]]:
    """Yields (base URL, token, process groups, replica port) of a Modelport under test."""
    env = {"MODELPORT_GATEWAY_FAST_PATH": "1" if fast_path else "0"}
    if server:
        with modelport_server(workdir, LAUNCH_NGINX, src, env) as running:
            yield running
        return
    assert upstream is not None
    port, pgid = upstream
    with modelport_gateway(workdir, port, src, env) as (base, token, gateway_pgid):
        yield base, token, {"proxy": gateway_pgid, "replica": pgid}, port


def run(
    seconds: int,
    rounds: int,
    mode: str,
    baseline: str | None,
    asgi: bool,
    fresh: bool,
    want_profile: bool,
) -> tuple[str, Results, str | None]:
    server = use_server(mode)
    label = (
        "`modelport server` (API + controller + gateway in one process, replica started by "
        "the controller)"
        if server
        else "gateway app alone under uvicorn (uvloop + httptools), real SqlStore + token"
    ) + ", gateway fast path on (`MODELPORT_GATEWAY_FAST_PATH=1`)"
    if fresh:
        label += "; every Modelport target started anew for each round"
    profiled = None
    with tempfile.TemporaryDirectory(prefix="mp-bench-") as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        upstream = None
        if not server:
            port = free_port()
            upstream = (port, stack.enter_context(nginx("upstream", port, workdir)))
        current = modelport(server, workdir / "current", upstream)
        base, token, groups, port = stack.enter_context(current)
        proxy_port = free_port()
        proxy = stack.enter_context(nginx("proxy", proxy_port, workdir, f"127.0.0.1:{port}"))
        replica = {"replica": groups["replica"]}
        proxied = {"proxy": proxy, **replica}
        targets = [
            Target("direct", f"http://127.0.0.1:{port}{PATH}", None, replica),
            Target("nginx-proxy", f"http://127.0.0.1:{proxy_port}{PATH}", None, proxied),
        ]

        def add(name: str, starter: Starter) -> None:
            if fresh:  # the first Modelport above only serves the replica the others use
                targets.append(Target(name, "", None, {}, starter))
                return
            base, token, groups, _ = stack.enter_context(starter())
            targets.append(Target(name, f"{base}{PATH}", token, groups))

        if fresh:
            add("modelport", lambda: modelport(server, workdir / "fresh", upstream))
        else:
            targets.append(Target("modelport", f"{base}{PATH}", token, groups))
        if asgi:
            add(
                "modelport-asgi", lambda: modelport(server, workdir / "asgi", upstream, None, False)
            )
        if baseline:
            src = export_tree(HERE.parent, baseline, workdir / "baseline")
            add("baseline", lambda: modelport(server, workdir / "baseline", upstream, src))
        results = measure(targets, seconds, rounds, workdir)
        if want_profile:
            with live(targets[2], workdir) as running:
                profiled = profile(running, seconds, workdir)
    return label, results, profiled


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians")
    parser.add_argument("--mode", choices=["auto", "server", "gateway"], default="auto")
    parser.add_argument("--baseline", metavar="REF", help="also measure src/ of this commit")
    parser.add_argument("--asgi", action="store_true", help="also measure the ASGI path")
    parser.add_argument("--fresh", action="store_true", help="new Modelport processes per round")
    parser.add_argument("--profile", action="store_true", help="py-spy the gateway at c64")
    parser.add_argument("--no-append", action="store_true", help="print only")
    parser.add_argument("--workers", action="store_true", help="1, 2, N gateway processes")
    parser.add_argument("--record", action="store_true", help="--workers: append to RESULTS.md")
    args = parser.parse_args()
    ensure_tools()
    if args.workers:
        with tempfile.TemporaryDirectory(prefix="mp-bench-workers-") as tmp:
            counts = worker_counts()
            scaled = measure_workers(counts, args.seconds, args.rounds, Path(tmp), PATH, BODY)
        section = report_workers(scaled, args.seconds, args.rounds)
        print(section)
        if args.record:
            with RESULTS.open("a") as out:
                out.write(section)
        return
    label, results, profiled = run(
        args.seconds, args.rounds, args.mode, args.baseline, args.asgi, args.fresh, args.profile
    )
    section = report(
        label, results, args.seconds, args.rounds, len(BODY), PATH, args.baseline, profiled
    )
    print(section)
    if not args.no_append:
        if not RESULTS.exists():
            RESULTS.write_text("# Benchmark results\n\nAppended by the scripts in benchmarks/.\n")
        with RESULTS.open("a") as out:
            out.write(section)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
