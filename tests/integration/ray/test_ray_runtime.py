"""`runtime: ray` against a real Ray cluster of several nodes on this machine (tests/support/
ray_cluster.py) and a real server (MODELPORT_RUNTIMES=local,ray): llama.cpp replicas of SmolLM2
spread over the nodes and answer through the gateway; a replica asking for 2 declared test GPUs
lands on the node that has them, one asking for more than any node has waits with what the
cluster has and is placed when such a node joins; a worker node killed under load takes its
replica along and the controller replaces it on the others without a lost request; a server
restart adopts the running actors. Tests run in order on one cluster and one server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from modelport.domain.errors import TemporaryError
from modelport.domain.launch import LaunchPlan
from modelport.domain.specs import ProbeSpec, Resources
from modelport.runtime.ray import RayRuntime
from modelport.runtime.ray_guard import start_time
from tests.support.ray_cluster import NodeSpec, RayCluster, ray_cluster
from tests.support.server import ServerProcess, wait_until
from tests.support.traffic import SteadyTraffic

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(900)]

NAME = "smol-ray"
GPU_TYPE = "TESTGPU-16GB"


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    # A replica of NAME asks for 2 CPUs: two never share a node. w2 keeps a CPU for the GPU
    # replicas whichever nodes they take.
    nodes = [NodeSpec("w1", cpus=2), NodeSpec("w2", cpus=3, gpus=2, gpu_type=GPU_TYPE)]
    with ray_cluster(NodeSpec("head", cpus=2), nodes) as running:
        yield running


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path, cluster: RayCluster
) -> Iterator[ServerProcess]:
    node_dir = tmp_path_factory.mktemp("ray-nodes")
    srv = ServerProcess(
        tmp_path_factory.mktemp("mp-home"),
        extra_env={
            "MODELPORT_RUNTIMES": "local,ray",
            "MODELPORT_RAY_ADDRESS": cluster.address,
            "MODELPORT_RAY_NODE_DIR": str(node_dir),
        },
    )
    srv.start()
    try:
        _create(srv, NAME, smollm2_path, replicas=2, resources={"cpu": 2})
        yield srv
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            with srv.api() as api:
                for endpoint in api.get("/api/v1/endpoints").json()["items"]:
                    api.delete(f"/api/v1/endpoints/{endpoint['name']}")
                wait_until(lambda: not api.get("/api/v1/endpoints").json()["items"], timeout=60)
            srv.stop()
        # the cluster fixture kills every node, and with them every engine they started


def _create(
    srv: ServerProcess, name: str, model: Path, replicas: int, resources: dict[str, Any]
) -> None:
    spec = {
        "framework": "llamacpp",
        "runtime": "ray",
        "model": {"path": str(model)},
        "replicas": replicas,
        "resources": resources,
        "engine_args": {"n_ctx": 512},
    }
    with srv.api() as api:
        created = api.post("/api/v1/endpoints", json={"name": name, "spec": spec})
    assert created.status_code == 201, created.text


def _replicas(srv: ServerProcess, name: str = NAME) -> list[dict[str, Any]]:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{name}/replicas")
    resp.raise_for_status()
    return list(resp.json()["items"])


def _events(srv: ServerProcess, name: str = NAME) -> list[dict[str, Any]]:
    with srv.api() as api:
        return list(api.get(f"/api/v1/endpoints/{name}/events").json()["items"])


def _ready(srv: ServerProcess, count: int = 2, name: str = NAME) -> list[dict[str, Any]] | None:
    """The handles of `count` READY replicas (by replica id), else None."""
    reps = _replicas(srv, name)
    if len(reps) != count or any(r["state"] != "ready" for r in reps):
        return None
    return [r["handle"] for r in sorted(reps, key=lambda r: r["id"])]


def _chat(srv: ServerProcess, name: str = NAME) -> str | None:
    client = OpenAI(base_url=f"{srv.base_url}/v1", api_key=srv.admin_token, max_retries=0)
    reply = client.chat.completions.create(
        model=name, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    return reply.choices[0].message.content


def test_replicas_spread_over_nodes_and_answer(server: ServerProcess) -> None:
    assert wait_until(lambda: _ready(server) is not None, timeout=240), _replicas(server)
    handles = _ready(server)
    assert handles is not None
    assert {h["backend"] for h in handles} == {"ray"}
    nodes = [h["node"] for h in handles]
    assert len(set(nodes)) == 2, handles  # spread: one replica per node
    assert _chat(server)
    # The engine on its node answers only with the per-replica key the gateway sends.
    direct = httpx.get(f"http://{handles[0]['host']}:{handles[0]['port']}/v1/models", timeout=10)
    assert direct.status_code == 401
    starting = [e["message"] for e in _events(server) if e["reason"] == "ReplicaStarting"]
    assert all("(node " in m for m in starting), starting
    listed = server.cli("replicas", NAME)
    assert listed.returncode == 0 and all(n in listed.stdout for n in nodes), listed
    summary = server.cli("ls", "--json")  # the endpoint's NODES
    assert summary.returncode == 0, summary
    assert json.loads(summary.stdout)["items"][0]["nodes"] == sorted(nodes)
    logs = server.cli("logs", NAME)  # read on its node, through the actor
    assert logs.returncode == 0 and '"GET /docs HTTP/1.1" 200' in logs.stdout, logs


def test_gpu_replica_lands_on_the_node_with_those_gpus(
    server: ServerProcess, cluster: RayCluster, smollm2_path: Path
) -> None:
    gpus = {"cpu": 0.25, "gpu_count": 2, "gpu_type": GPU_TYPE}
    _create(server, "smol-gpu2", smollm2_path, replicas=1, resources=gpus)
    _create(server, "smol-gpu4", smollm2_path, replicas=1, resources={**gpus, "gpu_count": 4})

    def placed(name: str) -> dict[str, Any] | None:
        reps = _replicas(server, name)
        started = [r for r in reps if r["handle"] and r["state"] in {"starting", "ready"}]
        return started[0]["handle"] if started else None

    assert wait_until(lambda: placed("smol-gpu2") is not None, timeout=120)
    assert (placed("smol-gpu2") or {})["node"] == "w2"
    waiting = _replicas(server, "smol-gpu4")
    assert [r["state"] for r in waiting] == ["pending"], waiting
    assert f"needs 4x {GPU_TYPE}; the cluster has only 2" in waiting[0]["detail"], waiting
    # Nothing frees up on the nodes there are: a node with four joins, and it goes there.
    cluster.start_node(NodeSpec("w3", cpus=1, gpus=4, gpu_type=GPU_TYPE))
    assert wait_until(lambda: placed("smol-gpu4") is not None, timeout=120), _replicas(
        server, "smol-gpu4"
    )
    assert (placed("smol-gpu4") or {})["node"] == "w3"
    with server.api() as api:
        for name in ("smol-gpu2", "smol-gpu4"):
            assert api.delete(f"/api/v1/endpoints/{name}").status_code in {200, 202, 204}
        gone = lambda: len(api.get("/api/v1/endpoints").json()["items"]) == 1  # noqa: E731
        assert wait_until(gone, timeout=60)


def test_a_group_across_two_nodes_is_created_and_removed(
    cluster: RayCluster, tmp_path: Path
) -> None:
    """Placement groups straight through RayRuntime (vLLM and SGLang are not on this machine;
    their commands are golden-tested in tests/unit/engines): a replica across w2 and w3 (two
    declared GPUs on each), its engines on both, all gone after stop; three such nodes wait."""
    runtime = RayRuntime.on_cluster(cluster.address, "mp-groups", False, tmp_path)
    across = Resources(cpu=0.5, memory_mb=256, gpu_count=4, gpu_type=GPU_TYPE, nodes=2)
    sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]

    async def scenario() -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                slot = await runtime.place("grp-r1-g1", across)
                break
            except TemporaryError as waiting:  # ReplicaPreparing, or w2 not free yet
                assert time.monotonic() < deadline, waiting.message
                await asyncio.sleep(0.5)
        launch = LaunchPlan(
            argv=sleeper, host=slot.host, port=slot.port, readiness=ProbeSpec(),
            liveness=ProbeSpec(), node_argv=[sleeper],
        )  # fmt: skip
        handle = await runtime.start("grp-r1-g1", launch)
        assert (await runtime.status(handle)).state.value == "running"
        table = _groups()
        assert table["grp-r1-g1"]["strategy"] == "STRICT_SPREAD", table
        with pytest.raises(TemporaryError) as waits:  # no 3 nodes with 2 GPUs each
            await runtime.place("grp-r2-g1", across.model_copy(update={"gpu_count": 6, "nodes": 3}))
        assert "needs 3 nodes with 2x TESTGPU-16GB each; 2 nodes of 4 could hold a share" in (
            waits.value.message
        ), waits.value.message
        await runtime.stop(handle, 2.0)
        assert "grp-r1-g1" not in _groups()

    try:
        asyncio.run(scenario())
    finally:
        import ray

        ray.shutdown()  # this test's own connection


def _groups() -> dict[str, Any]:
    """This driver's view of the live placement groups, by name."""
    import ray

    table = ray.util.placement_group_table()
    return {g["name"]: g for g in table.values() if g["state"] != "REMOVED"}


def test_a_node_killed_under_load_loses_its_replica_but_no_request(
    server: ServerProcess, cluster: RayCluster
) -> None:
    assert wait_until(lambda: _ready(server) is not None, timeout=180), _replicas(server)
    handles = _ready(server)
    assert handles is not None
    victim = next(h for h in handles if h["node"] != "head")  # the head holds the cluster
    with SteadyTraffic(f"{server.base_url}/v1", server.admin_token, NAME) as traffic:
        traffic.wait_for_ok(3, timeout=60)
        cluster.kill_node(victim["node"])
        replaced = wait_until(
            lambda: (
                (now := _ready(server)) is not None
                and victim["node"] not in {h["node"] for h in now}
            ),
            timeout=240,
        )
        traffic.wait_for_ok(3, timeout=60)
    assert replaced, _replicas(server)
    assert traffic.result.failures == []
    assert traffic.result.ok >= 6
    lost = [e["message"] for e in _events(server) if e["reason"] == "ReplicaCrashed"]
    assert any(f"on node {victim['node']}" in m for m in lost), lost


def test_server_restart_adopts_running_actors(server: ServerProcess) -> None:
    assert wait_until(lambda: _ready(server) is not None, timeout=180), _replicas(server)
    before = _ready(server)
    starts = sum(e["reason"] == "ReplicaStarting" for e in _events(server))
    server.stop()
    server.start()
    assert wait_until(lambda: _ready(server) == before, timeout=60), _replicas(server)
    time.sleep(3)  # a few reconcile ticks: nothing is restarted
    assert _ready(server) == before
    assert sum(e["reason"] == "ReplicaStarting" for e in _events(server)) == starts
    assert _chat(server) is not None


def test_an_engine_does_not_outlive_its_actor(server: ServerProcess) -> None:
    """Only the actor's worker process dies (its node lives): the engine under it is gone soon
    after, and the controller replaces the replica."""
    assert wait_until(lambda: _ready(server) is not None, timeout=180), _replicas(server)
    before = _ready(server)
    assert before is not None
    victim = before[0]
    worker = _parent(victim["pid"])  # the guard is the actor worker's child
    assert start_time(worker) is not None
    os.kill(worker, signal.SIGKILL)
    assert wait_until(lambda: not _session(victim["pid"]), timeout=30), _session(victim["pid"])
    assert wait_until(
        lambda: (now := _ready(server)) is not None and victim not in now, timeout=180
    ), _replicas(server)


def _parent(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _session(sid: int) -> set[int]:
    """Live processes of the replica's session (its guard and engine)."""
    members = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid and fields[0] != "Z":
                members.add(int(entry.name))
    return members
