"""Shared pieces of the benchmarks: child processes, wrk runs, CPU accounting, machine facts."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx responses plus socket errors
    cpu: dict[str, float] = field(default_factory=dict)  # CPU-seconds per wall second, by role


def median_of(runs: list[WrkResult]) -> WrkResult:
    """Median of each figure over repeated runs; errors add up."""
    roles = {role for run in runs for role in run.cpu}
    return WrkResult(
        statistics.median(r.rps for r in runs),
        statistics.median(r.p50_ms for r in runs),
        statistics.median(r.p99_ms for r in runs),
        sum(r.errors for r in runs),
        {role: statistics.median(r.cpu.get(role, 0.0) for r in runs) for role in roles},
    )


def wait_until_quiet(limit: float = 0.5, patience: float = 90) -> float:
    """Wait (up to `patience` s) until the machine is busy less than `limit` CPUs for 1 s.

    Returns the last busy figure: what other work on the machine was doing when we started.
    """
    deadline = time.monotonic() + patience
    while True:
        before = machine_busy_seconds()
        time.sleep(1)
        busy = machine_busy_seconds() - before
        if busy < limit or time.monotonic() > deadline:
            return busy


def ensure_tools() -> None:
    missing = [pkg for pkg, exe in (("nginx", "nginx"), ("wrk", "wrk")) if not which(exe)]
    if missing:
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        subprocess.run([*sudo, "apt-get", "install", "-y", "-q", *missing], check=True)


def which(exe: str) -> str | None:
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
    """A child in its own session (so its pid is its process group), stopped with the group."""
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


def _processes() -> Iterator[Path]:
    """/proc/PID of every process now running."""
    return (entry for entry in Path("/proc").iterdir() if entry.name.isdigit())


def group_cpu_seconds(pgid: int, system_only: bool = False) -> float:
    """User + system (or only system) CPU time of the live processes in one process group."""
    total = 0
    for entry in _processes():
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:  # fields[0] is the state; pid and comm precede it
            total += int(fields[12]) if system_only else int(fields[11]) + int(fields[12])
    return total / _CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU-seconds the whole machine spent busy (all CPUs), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / _CLOCK_TICKS


def run_wrk(
    url: str,
    connections: int,
    threads: int,
    seconds: int,
    token: str | None,
    workdir: Path,
    body: str,
    groups: dict[str, int] | None = None,
) -> WrkResult:
    """One wrk run; with `groups` (role -> process group) also the CPU each role used."""
    script = workdir / "post.lua"
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"\n' if token else ""
    script.write_text(
        f"wrk.method = \"POST\"\nwrk.body = '{body}'\n"
        f'wrk.headers["Content-Type"] = "application/json"\n{auth}'
    )
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    groups = groups or {}
    before = {role: group_cpu_seconds(pgid) for role, pgid in groups.items()}
    proxy_sys = group_cpu_seconds(groups["proxy"], system_only=True) if "proxy" in groups else 0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy, started = machine_busy_seconds(), time.monotonic()
    out = subprocess.run(
        [*argv, "-s", str(script), url], check=True, capture_output=True, text=True
    ).stdout
    wall = time.monotonic() - started
    cpu = {role: (group_cpu_seconds(pgid) - before[role]) / wall for role, pgid in groups.items()}
    if "proxy" in groups:  # kernel time of the proxy (socket syscalls), part of cpu["proxy"]
        cpu["proxy_sys"] = (group_cpu_seconds(groups["proxy"], True) - proxy_sys) / wall
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu["wrk"] = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) / wall
    cpu["machine"] = (machine_busy_seconds() - busy) / wall
    mine = sum(v for k, v in cpu.items() if k not in ("machine", "proxy_sys"))
    cpu["other"] = max(0.0, cpu["machine"] - mine)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return WrkResult(rps, _percentile(out, "50"), _percentile(out, "99"), errors, cpu)


def _percentile(out: str, pct: str) -> float:
    match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"no {pct}% line in wrk output:\n{out}")
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def machine() -> str:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("[")[0]
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, Python "
        f"{platform.python_version()}, {nginx.removeprefix('nginx version: ')}, {wrk.strip()}"
    )


def commit(repo: Path) -> str:
    """The checked-out commit, marked `+dirty` when tracked files differ from it."""
    head = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(repo), "diff", "--quiet", "HEAD", "--", "src", "benchmarks"]
    ).returncode
    return f"{head or 'unknown'}{'+dirty' if dirty else ''}"


def export_tree(repo: Path, ref: str, into: Path) -> Path:
    """`src/` of commit `ref`, unpacked under `into` (no git state is touched)."""
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", ref, "src"],
        check=True,
        capture_output=True,
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src"


@contextlib.contextmanager
def modelport_server(workdir: Path) -> Iterator[tuple[str, str]]:
    """A real `modelport server` on a free port under `workdir`: (base URL, admin token)."""
    home, port = workdir / "home", free_port()
    env = {
        "MODELPORT_HOME": str(home),
        "MODELPORT_PORT": str(port),
        "MODELPORT_HOST": "127.0.0.1",
        "MODELPORT_LOG_LEVEL": "warning",
    }
    argv = [sys.executable, "-m", "modelport.cli.main", "server"]
    try:
        with process(argv, workdir / "server.log", {**os.environ, **env}):
            wait_for_port(port, 60)
            yield f"http://127.0.0.1:{port}", (home / "admin-token").read_text().strip()
    finally:
        reap_replicas(home / "logs")


def reap_replicas(logs_dir: Path) -> None:
    """Stop the replicas a stopped server left running (they outlive it by design, to be
    adopted by the next start): every process whose output goes to a log under `logs_dir`."""
    for entry in _processes():
        with contextlib.suppress(OSError):
            if Path(os.readlink(entry / "fd" / "1")).is_relative_to(logs_dir):
                os.kill(int(entry.name), signal.SIGKILL)


def wait(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """The first truthy value of `predicate`, polled every `interval` s; TimeoutError after."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(interval)
    raise TimeoutError(f"not within {timeout} s")
