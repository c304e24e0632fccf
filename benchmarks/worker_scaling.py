"""Gateway throughput by worker count against nginx with as many workers, in one run.

For each worker count N (1, 2 and the cores available): a real `modelport server
--gateway-workers N` (its replica an nginx started by the controller, as in gateway.py) and an
nginx proxy with `worker_processes N` in front of the same replica, each measured with
`wrk -t2 -c64` for `seconds`, interleaved over rounds (medians). Reported per N: requests/s of
both, Modelport / nginx, and each one's scaling efficiency, rps(N) / (N * rps(1)); the target is
Modelport within 20% of linear up to the cores available. Load generator, replica and proxies
share the machine's CPUs, so on a small machine N = cores also competes with wrk.

    python benchmarks/gateway.py --workers [--seconds 8] [--rounds 3] [--record]
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchlib import (
    WrkResult,
    free_port,
    machine,
    median_of,
    process,
    run_wrk,
    wait_for_port,
    wait_until_quiet,
)
from servers import modelport_server

HERE = Path(__file__).resolve().parent
LAUNCH_NGINX = HERE / "upstream" / "launch_nginx.py"


@dataclass
class Pair:
    workers: int
    modelport: str  # URL
    token: str
    nginx: str  # URL


def worker_counts() -> list[int]:
    cores = len(os.sched_getaffinity(0))
    return sorted({1, 2, cores})


@contextlib.contextmanager
def nginx_proxy(workers: int, upstream_port: int, workdir: Path) -> Iterator[int]:
    port = free_port()
    argv = [sys.executable, str(LAUNCH_NGINX), "proxy", "--port", str(port),
            "--upstream", f"127.0.0.1:{upstream_port}", "--workers", str(workers)]  # fmt: skip
    with process(argv, workdir / f"nginx-proxy-{workers}.log"):
        wait_for_port(port)
        yield port


def measure(
    counts: list[int], seconds: int, rounds: int, workdir: Path, path: str, body: str
) -> dict[int, dict[str, WrkResult]]:
    with contextlib.ExitStack() as stack:
        pairs = []
        for n in counts:
            env = {"MODELPORT_GATEWAY_WORKERS": str(n)}
            base, token, _, replica = stack.enter_context(
                modelport_server(workdir / f"mp-{n}", LAUNCH_NGINX, extra=env)
            )
            proxy = stack.enter_context(nginx_proxy(n, replica, workdir))
            pairs.append(Pair(n, f"{base}{path}", token, f"http://127.0.0.1:{proxy}{path}"))
        for pair in pairs:  # warm pools, token caches and every worker's connections
            run_wrk(pair.modelport, 64, 2, 2, pair.token, workdir, body)
        runs: dict[int, dict[str, list[WrkResult]]] = {n: {"modelport": [], "nginx": []}
                                                        for n in counts}  # fmt: skip
        for number in range(rounds):
            for pair in pairs:
                busy = wait_until_quiet()
                print(f"round {number + 1}/{rounds} N={pair.workers} busy {busy:.2f}", flush=True)
                mp = run_wrk(pair.modelport, 64, 2, seconds, pair.token, workdir, body)
                ng = run_wrk(pair.nginx, 64, 2, seconds, None, workdir, body)
                runs[pair.workers]["modelport"].append(mp)
                runs[pair.workers]["nginx"].append(ng)
                print(f"  modelport {mp.rps:9,.0f} req/s   nginx {ng.rps:9,.0f} req/s", flush=True)
    return {n: {k: median_of(v) for k, v in by.items()} for n, by in runs.items()}


def report(results: dict[int, dict[str, WrkResult]], seconds: int, rounds: int) -> str:
    one = results[min(results)]
    lines = [
        "\n## Gateway throughput by worker count (`benchmarks/gateway.py --workers`)\n",
        f"Machine: {machine()}. `modelport server --gateway-workers N` (replica: nginx started "
        "by the controller) vs an nginx proxy with `worker_processes N` to the same replica; "
        f"`wrk -t2 -c64`, {seconds}s, {rounds} interleaved rounds, medians. Efficiency: "
        "rps(N) / (N x rps(1)).\n",
        "| N | Modelport req/s | nginx req/s | Modelport / nginx | Modelport efficiency "
        "| nginx efficiency | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, pair in sorted(results.items()):
        mp, ng = pair["modelport"], pair["nginx"]
        lines.append(
            f"| {n} | {mp.rps:,.0f} | {ng.rps:,.0f} | {mp.rps / ng.rps:.2f} "
            f"| {mp.rps / (n * one['modelport'].rps):.2f} "
            f"| {ng.rps / (n * one['nginx'].rps):.2f} | {mp.errors + ng.errors} |"
        )
    return "\n".join(lines) + "\n"
