"""The Markdown section benchmarks/gateway.py appends to RESULTS.md, and its profile summary."""

from __future__ import annotations

import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from benchlib import WrkResult, commit, machine

HERE = Path(__file__).resolve().parent

# Where a sample's innermost frame lives -> what it counts as. First match wins; a frame's
# self time includes the C code it calls (syscalls in transport.write, the parser, uvloop).
_FAST = "fast path (server/fast_protocol.py, gateway/fast_exchange.py)"
_BUCKETS = (
    ("modelport/gateway/upstream", "upstream client (gateway/upstream*.py)"),
    ("modelport/gateway/fast_exchange", _FAST),
    ("modelport/server/fast_protocol", _FAST),
    ("modelport/gateway/proxy", "proxy (gateway/proxy.py)"),
    ("modelport/gateway/metrics", "metrics"),
    ("modelport/gateway/", "gateway app (auth, headers, routing, body)"),
    ("modelport/server/", "dispatcher"),
    ("uvicorn/", "uvicorn (httptools protocol, ASGI send/receive)"),
    ("asyncio/", "event loop (uvloop; runs callbacks, socket I/O)"),
    ("threading", "worker threads (controller, store)"),
    ("concurrent/", "worker threads (controller, store)"),
    ("sqlalchemy/", "worker threads (controller, store)"),
    ("modelport/", "controller, store, services"),
)


def summarize(collapsed: Path, top: int = 12) -> str:
    """Self time by component and the hottest lines, from py-spy's raw (collapsed) output."""
    total = 0
    components: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    for row in collapsed.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        leaf = stack.rsplit(";", 1)[-1]
        where = leaf.rpartition("(")[2]
        components[next((b for m, b in _BUCKETS if m in where), "other (json, stdlib)")] += samples
        name, _, location = leaf.partition(" (")
        short = "/".join(location.rstrip(")").split("/")[-2:])
        lines[f"{name} ({short})"] += samples
    if total == 0:
        return "py-spy recorded no samples."
    rows = "\n".join(f"| {name} | {100 * n / total:.1f} |" for name, n in components.most_common())
    hot = "\n".join(f"| `{name}` | {100 * n / total:.1f} |" for name, n in lines.most_common(top))
    return f"""| component (self time) | % of samples |
|---|---|
{rows}

| hottest lines (self) | % |
|---|---|
{hot}

{total} samples."""


def _cpu(result: WrkResult) -> str:
    cpu = result.cpu
    return " / ".join(f"{cpu.get(role, 0.0):.2f}" for role in ("proxy", "replica", "wrk", "other"))


def _per_request(result: WrkResult) -> str:
    """CPU time the proxy under test spent per request: the figure other load disturbs least."""
    if "proxy" not in result.cpu or not result.rps:
        return "-"
    total = result.cpu["proxy"] / result.rps * 1e6
    kernel = result.cpu.get("proxy_sys", 0.0) / result.rps * 1e6
    return f"{total:.0f} ({kernel:.0f} sys)"


def report(
    label: str,
    results: dict[str, dict[str, WrkResult]],
    seconds: int,
    rounds: int,
    body_bytes: int,
    path: str,
    baseline: str | None,
    profiled: str | None,
) -> str:
    direct, proxy, ours = results["direct"], results["nginx-proxy"], results["modelport"]
    names = {"baseline": f"modelport @ {baseline}", "modelport-asgi": "modelport, ASGI path"}
    rows = "\n".join(
        f"| {names.get(name, name)} | {r['c1'].p50_ms:.3f} "
        f"| {r['c1'].p99_ms:.3f} | {r['c64'].rps:,.0f} | {r['c1'].errors + r['c64'].errors} "
        f"| {_cpu(r['c64'])} | {_per_request(r['c64'])} |"
        for name, r in results.items()
    )

    def added(r: dict[str, WrkResult], key: str) -> float:
        return float(getattr(r["c1"], key) - getattr(direct["c1"], key))

    ratio = ours["c64"].rps / proxy["c64"].rps
    lines = [
        f"- Added latency at p50: Modelport {added(ours, 'p50_ms'):+.3f} ms, nginx-proxy "
        f"{added(proxy, 'p50_ms'):+.3f} ms (target: Modelport <= 1 ms).",
        f"- Added latency at p99: Modelport {added(ours, 'p99_ms'):+.3f} ms, nginx-proxy "
        f"{added(proxy, 'p99_ms'):+.3f} ms.",
        f"- Throughput Modelport / nginx-proxy at c64: **{ratio:.2f}** (target >= 0.25, goal 0.5)"
        f"; Modelport / direct: {ours['c64'].rps / direct['c64'].rps:.2f}.",
    ]
    if "baseline" in results:
        before = results["baseline"]
        lines.append(
            f"- Previous design (`{baseline}`, same mode, same run): "
            f"{before['c64'].rps:,.0f} req/s = {before['c64'].rps / proxy['c64'].rps:.2f} of "
            f"nginx-proxy; this checkout is {ours['c64'].rps / before['c64'].rps:.2f}x it, "
            f"p50 c1 {before['c1'].p50_ms:.3f} -> {ours['c1'].p50_ms:.3f} ms, gateway CPU per "
            f"request {_per_request(before['c64'])} -> {_per_request(ours['c64'])} µs."
        )
    if "modelport-asgi" in results:
        slow = results["modelport-asgi"]
        lines.append(
            f"- The same checkout with the fast path off (`MODELPORT_GATEWAY_FAST_PATH=0`, same "
            f"run): {slow['c64'].rps:,.0f} req/s = {slow['c64'].rps / proxy['c64'].rps:.2f} of "
            f"nginx-proxy; the fast path is {ours['c64'].rps / slow['c64'].rps:.2f}x it, p50 c1 "
            f"{slow['c1'].p50_ms:.3f} -> {ours['c1'].p50_ms:.3f} ms, gateway CPU per request "
            f"{_per_request(slow['c64'])} -> {_per_request(ours['c64'])} µs."
        )
    load = os.getloadavg()[0]
    section = f"""
## Gateway overhead, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit(HERE.parent)}

Machine: {machine()}; load average {load:.2f} at the end.

Modelport: {label}. nginx: 1 worker for the replica and 1 for the proxy (the gateway is one
process too). Request: `POST {path}` with a {body_bytes}-byte JSON body, answered with a
274-byte JSON body. wrk {seconds}s per run: `-t1 -c1 --latency` for latency, `-t2 -c64` for
throughput, after a 2s warm-up; {rounds} interleaved rounds, medians. wrk, both nginx and the
gateway share the CPUs; the CPU column is CPU-seconds per second during the c64 runs: the proxy
under test / the replica / wrk / everything else on the machine (other work: it takes CPU from
all of them); µs/req is the proxy's CPU time per request at c64 (in brackets: the kernel's
share, socket syscalls).

| target | p50 c1 ms | p99 c1 ms | req/s c64 | errors | CPU c64 proxy/replica/wrk/other | µs/req |
|---|---|---|---|---|---|---|
{rows}

{chr(10).join(lines)}
"""
    if profiled:
        section += f"""
Where the gateway process's time goes (py-spy, 250 Hz, one extra c64 run of {seconds}s):

{profiled}
"""
    return section
