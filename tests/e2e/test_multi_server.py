"""Two `modelport server` processes (own ports, own homes) over one real PostgreSQL, as two
hosts would run behind a load balancer: either serves any request, only the lease holder's
controller acts, and SIGKILLing that server moves the lease to the other while the replicas
(real llama.cpp processes serving SmolLM2) are adopted and keep answering through the
surviving gateway with no failed request.

The tests run in order on one pair of servers and one endpoint (module-scoped: CI time).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.multi_server import (
    LeaseWatch,
    controller_id,
    launched_pids,
    leads_count,
    parent_pid,
    servers_sharing,
)
from tests.support.postgres import PostgresServer, postgres_server
from tests.support.server import ServerProcess, pid_alive, wait_until
from tests.support.traffic import SteadyTraffic
from tests.support.vendor_clients import server_log_problems

__all__ = ["postgres_server"]

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(300)]

NAME = "smol-shared"
SECRET = "s3cr3t-value"
HOLD_S = 30


@pytest.fixture(scope="module")
def database_url(postgres_server: PostgresServer) -> str:
    return postgres_server.create_database()


@pytest.fixture(scope="module")
def pair(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    homes = [tmp_path_factory.mktemp("mp-home-a"), tmp_path_factory.mktemp("mp-home-b")]
    # A request held at zero through a server that is not the leader must not wait 300 s.
    with servers_sharing(database_url, homes, {"MODELPORT_HOLD_TIMEOUT": str(HOLD_S)}) as (a, b):
        yield a, b


@pytest.fixture(scope="module")
def watch(database_url: str) -> Iterator[LeaseWatch]:
    lease = LeaseWatch(database_url)
    yield lease
    lease.close()


@pytest.fixture(scope="module")
def endpoint_key(pair: tuple[ServerProcess, ServerProcess], smollm2_path: Path) -> str:
    """The endpoint, created through A with one replica: its inference key."""
    a, _ = pair
    spec = {
        "framework": "llamacpp",
        "model": {"path": str(smollm2_path)},
        "engine_args": {"n_ctx": 512},
        "replicas": 1,
        "env": [{"name": "GREETING", "value": SECRET, "secret": True}],
    }
    with a.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": NAME, "spec": spec})
    assert created.status_code == 201, created.text
    return str(created.json()["api_key"])


def _replicas(srv: ServerProcess) -> list[dict[str, Any]]:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{NAME}/replicas")
    resp.raise_for_status()
    return list(resp.json()["items"])


def _ready(srv: ServerProcess, count: int) -> bool:
    reps = _replicas(srv)
    return len(reps) == count and all(r["state"] == "ready" for r in reps)


def _chat(srv: ServerProcess, key: str, model: str = NAME) -> httpx.Response:
    return httpx.post(
        f"{srv.base_url}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
        timeout=HOLD_S + 60,
    )


def _whoami(srv: ServerProcess, token: str) -> int:
    resp = httpx.get(
        f"{srv.base_url}/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return resp.status_code


def _reasons_since(srv: ServerProcess, after_id: int) -> list[str]:
    with srv.api() as api:
        events = api.get(f"/api/v1/endpoints/{NAME}/events", params={"after_id": after_id})
    return [e["reason"] for e in events.json()["items"]]


def _last_event_id(srv: ServerProcess) -> int:
    with srv.api() as api:
        events = api.get(f"/api/v1/endpoints/{NAME}/events", params={"limit": 1000}).json()
    return max((e["id"] for e in events["items"]), default=0)


def test_either_server_serves_any_request(
    pair: tuple[ServerProcess, ServerProcess], endpoint_key: str
) -> None:
    a, b = pair
    with b.api() as api:
        listed = [e["name"] for e in api.get("/api/v1/endpoints").json()["items"]]
        got = api.get(f"/api/v1/endpoints/{NAME}").json()
        patched = api.patch(f"/api/v1/endpoints/{NAME}", json={"spec": {"replicas": 2}})
        minted = api.post("/api/v1/tokens", json={"name": "made-on-b", "role": "viewer"})
    assert NAME in listed
    assert got["spec"]["env"][0]["value"] != SECRET, "secrets stay masked on every server"
    assert patched.status_code == 200, patched.text
    with a.api() as api:
        assert api.get(f"/api/v1/endpoints/{NAME}").json()["spec"]["replicas"] == 2
    assert minted.status_code == 201, minted.text
    token_b = minted.json()["token"]
    assert _whoami(a, token_b) == 200

    assert wait_until(lambda: _ready(b, 2), timeout=180), _replicas(b)
    # Both gateways reach replicas A launched, with keys sealed under the shared secret key.
    for srv, key in ((a, endpoint_key), (b, endpoint_key), (a, token_b), (b, token_b)):
        answer = _chat(srv, key)
        assert answer.status_code == 200, (srv.base_url, answer.text)
        assert answer.json()["choices"]

    with a.api() as api:
        (made_on_b,) = [
            t for t in api.get("/api/v1/tokens").json()["items"] if t["name"] == "made-on-b"
        ]
        assert api.delete(f"/api/v1/tokens/{made_on_b['id']}").status_code in (200, 204)
    # Revoked through A, refused by B once B's token cache (a few seconds) expires.
    assert wait_until(lambda: _whoami(b, token_b) == 401, timeout=30)


def test_only_the_lease_holder_launches(
    pair: tuple[ServerProcess, ServerProcess], watch: LeaseWatch, endpoint_key: str
) -> None:
    a, b = pair
    assert wait_until(lambda: _ready(a, 2), timeout=180), _replicas(a)
    lease = watch.current()
    assert lease is not None and lease.holder == controller_id(a)
    assert controller_id(b) is None, "B's controller never led"
    pids = [r["handle"]["pid"] for r in _replicas(a)]
    assert sorted(pids) == sorted(launched_pids(a))  # the replica asked for through B, too
    assert launched_pids(b) == []
    assert a.proc is not None
    assert [parent_pid(pid) for pid in pids] == [a.proc.pid] * len(pids)


def test_killing_the_lease_holder_moves_the_lease_and_replicas_keep_serving(
    pair: tuple[ServerProcess, ServerProcess], watch: LeaseWatch, endpoint_key: str
) -> None:
    a, b = pair
    assert wait_until(lambda: _ready(b, 2), timeout=180), _replicas(b)
    before = {r["id"]: r["handle"]["pid"] for r in _replicas(b)}
    last_event = _last_event_id(b)
    held = watch.current()
    assert held is not None and a.proc is not None
    with SteadyTraffic(f"{b.base_url}/v1", endpoint_key, NAME) as traffic:
        traffic.wait_for_ok(3, timeout=60)
        killed_at = time.monotonic()
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        moved = watch.wait_for_holder_other_than(held.holder, timeout=30)
        took = time.monotonic() - killed_at
        assert moved is not None, "the lease never left the killed server"
        print(f"\nlease moved to the surviving server {took:.2f}s after SIGKILL")
        assert moved.generation > held.generation
        assert wait_until(lambda: controller_id(b) == moved.holder, timeout=10)
        # B's controller now probes the adopted replicas every tick; traffic goes on meanwhile.
        traffic.wait_for_ok(10, timeout=60)
        after = {r["id"]: r["handle"]["pid"] for r in _replicas(b)}
        assert after == before, "adopted, not restarted"
        assert _ready(b, 2)

        # B acts on what A launched: scaled down through B, it drains and stops one of them.
        with b.api() as api:
            resp = api.patch(f"/api/v1/endpoints/{NAME}", json={"spec": {"replicas": 1}})
        assert resp.status_code == 200, resp.text
        assert wait_until(lambda: _ready(b, 1), timeout=60), _replicas(b)
        traffic.wait_for_ok(3, timeout=60)
    assert traffic.result.failures == []
    (kept,) = _replicas(b)
    (stopped,) = [pid for rid, pid in before.items() if rid != kept["id"]]
    assert wait_until(lambda: not pid_alive(stopped), timeout=30)
    assert pid_alive(kept["handle"]["pid"]) and kept["handle"]["pid"] == before[kept["id"]]
    assert launched_pids(b) == []
    assert "ReplicaStarting" not in _reasons_since(b, last_event)
    assert server_log_problems(b.log_path.read_text()) == []


def test_a_request_held_at_zero_on_a_standby_wakes_the_endpoint(
    pair: tuple[ServerProcess, ServerProcess], smollm2_path: Path
) -> None:
    a, b = pair
    if a.proc is None or a.proc.poll() is not None:
        a.start()  # the killed server comes back (same home and port) as a standby
    spec = {
        "framework": "llamacpp",
        "model": {"path": str(smollm2_path)},
        "engine_args": {"n_ctx": 512},
        "replicas": 0,
        "autoscale": {"enabled": True, "min_replicas": 0, "max_replicas": 1},
    }
    with a.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": "smol-zero", "spec": spec})
    assert created.status_code == 201, created.text
    # A is a standby: its controller never acts; the leader (B) reads A's published load.
    sent = datetime.now(UTC)
    answer = _chat(a, a.admin_token, model="smol-zero")
    answered = (datetime.now(UTC) - sent).total_seconds()
    assert answer.status_code == 200, answer.text
    with b.api() as api:
        (woken,) = api.get("/api/v1/endpoints/smol-zero/replicas").json()["items"]
        events = api.get("/api/v1/endpoints/smol-zero/events").json()["items"]
    at = {e["reason"]: datetime.fromisoformat(e["created_at"]) for e in events}
    print(
        f"\nheld on the standby: scaled after {(at['Scaled'] - sent).total_seconds():.2f}s, "
        f"replica ready after {(at['ReplicaReady'] - sent).total_seconds():.2f}s, "
        f"answered after {answered:.2f}s"
    )
    assert b.proc is not None and parent_pid(woken["handle"]["pid"]) == b.proc.pid


def test_a_restarted_server_rejoins_as_a_standby(
    pair: tuple[ServerProcess, ServerProcess], watch: LeaseWatch
) -> None:
    a, b = pair
    if a.proc is None or a.proc.poll() is not None:
        a.start()
    with a.api() as api:
        assert NAME in [e["name"] for e in api.get("/api/v1/endpoints").json()["items"]]
    lease = watch.current()
    assert lease is not None and lease.holder == controller_id(b)
    # Its first run may have taken the lease more than once (a tick stalled past the lease on a
    # loaded machine, then it took it again): what matters is that the restarted run never did.
    assert leads_count(a, last_run_only=True) == 0, "the restarted server took the lease back"
    assert server_log_problems(a.log_path.read_text()) == []
