"""`runtime: docker` end to end: a real server (MODELPORT_RUNTIMES=local,docker) runs two
llama.cpp replicas as containers of the locally built modelport/llamacpp image, the GGUF
mounted read-only. The openai SDK gets answers, a container killed under load loses no request,
a server restart adopts the running containers, and delete leaves no container behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker import DockerClient
from openai import OpenAI

from tests.support.docker import docker_client, llamacpp_image
from tests.support.server import ServerProcess, wait_until
from tests.support.traffic import SteadyTraffic

__all__ = ["docker_client", "llamacpp_image"]  # fixtures used below

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

NAME = "smol-docker"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
    smollm2_path: Path,
    docker_client: DockerClient,
    llamacpp_image: str,  # also tagged modelport/llamacpp:latest, the engine's default image
) -> Iterator[ServerProcess]:
    srv = ServerProcess(
        tmp_path_factory.mktemp("mp-home"), extra_env={"MODELPORT_RUNTIMES": "local,docker"}
    )
    srv.start()
    spec = {
        "framework": "llamacpp",
        "runtime": "docker",
        "model": {"path": str(smollm2_path)},
        "replicas": 2,
        "engine_args": {"n_ctx": 512},
    }
    try:
        with srv.api() as api:
            created = api.post("/api/v1/endpoints", json={"name": NAME, "spec": spec})
        assert created.status_code == 201, created.text
        yield srv
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            with srv.api() as api:
                api.delete(f"/api/v1/endpoints/{NAME}")
            wait_until(lambda: not _containers(srv, docker_client), timeout=60)
            srv.stop()
        for container in _containers(srv, docker_client):  # a failed test's leftovers
            container.remove(force=True)


def _containers(srv: ServerProcess, client: DockerClient) -> list[Any]:
    install = (srv.home / "install-id").read_text().strip()
    return list(
        client.containers.list(
            all=True, sparse=True, filters={"label": f"modelport.install={install}"}
        )
    )


def _replicas(srv: ServerProcess) -> list[dict[str, Any]]:
    with srv.api() as api:
        resp = api.get(f"/api/v1/endpoints/{NAME}/replicas")
    resp.raise_for_status()
    return list(resp.json()["items"])


def _ready_containers(srv: ServerProcess) -> list[str] | None:
    """The container ids of two READY replicas, else None."""
    reps = _replicas(srv)
    if len(reps) != 2 or any(r["state"] != "ready" for r in reps):
        return None
    return sorted(r["handle"]["container_id"] for r in reps)


def _starts(srv: ServerProcess) -> int:
    with srv.api() as api:
        events = api.get(f"/api/v1/endpoints/{NAME}/events").json()["items"]
    return sum(e["reason"] == "ReplicaStarting" for e in events)


def test_docker_endpoint_serves_the_openai_sdk(
    server: ServerProcess, docker_client: DockerClient
) -> None:
    assert wait_until(lambda: _ready_containers(server) is not None, timeout=180), _replicas(server)
    handles = [r["handle"] for r in _replicas(server)]
    assert {(h["backend"], h["host"]) for h in handles} == {("docker", "127.0.0.1")}
    # Every container of this server is a replica's: a container whose launch the controller
    # could not record (its lease ran out mid-start on a loaded host) is stopped and removed
    # within the stop grace period, so the listing converges on the replicas' containers.
    wanted = {h["container_id"] for h in handles}
    converged = wait_until(
        lambda: {c.id for c in _containers(server, docker_client)} == wanted, timeout=30
    )
    assert converged, ({c.id for c in _containers(server, docker_client)}, handles)

    client = OpenAI(base_url=f"{server.base_url}/v1", api_key=server.admin_token, max_retries=0)
    reply = client.chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
    )
    assert reply.choices[0].message.content

    logs = server.cli("logs", NAME)  # the containers' output, followed into the replica logs
    assert logs.returncode == 0 and '"GET /docs HTTP/1.1" 200' in logs.stdout, logs


def test_killing_a_container_under_load_loses_no_request(
    server: ServerProcess, docker_client: DockerClient
) -> None:
    assert wait_until(lambda: _ready_containers(server) is not None, timeout=180)
    victim = _replicas(server)[0]["handle"]["container_id"]
    with SteadyTraffic(f"{server.base_url}/v1", server.admin_token, NAME) as traffic:
        traffic.wait_for_ok(3, timeout=60)
        docker_client.containers.get(victim).kill()  # SIGKILL
        replaced = wait_until(
            lambda: victim not in (_ready_containers(server) or [victim]), timeout=180
        )
        traffic.wait_for_ok(3, timeout=60)
    assert replaced, _replicas(server)
    assert traffic.result.failures == []
    assert traffic.result.ok >= 6
    assert victim not in {c.id for c in _containers(server, docker_client)}  # the dead one removed


def test_server_restart_adopts_running_containers(server: ServerProcess) -> None:
    assert wait_until(lambda: _ready_containers(server) is not None, timeout=180)
    before, starts = _ready_containers(server), _starts(server)
    server.stop()
    server.start()
    assert wait_until(lambda: _ready_containers(server) == before, timeout=60), _replicas(server)
    time.sleep(3)  # a few reconcile ticks: nothing gets restarted
    assert _ready_containers(server) == before
    assert _starts(server) == starts
    client = OpenAI(base_url=f"{server.base_url}/v1", api_key=server.admin_token, max_retries=0)
    reply = client.chat.completions.create(
        model=NAME, messages=[{"role": "user", "content": "Hi again"}], max_tokens=8
    )
    assert reply.choices[0].message.content is not None


def test_delete_leaves_no_container(server: ServerProcess, docker_client: DockerClient) -> None:
    assert _containers(server, docker_client)
    with server.api() as api:
        assert api.delete(f"/api/v1/endpoints/{NAME}").status_code in {200, 202, 204}
    assert wait_until(lambda: not _containers(server, docker_client), timeout=60)
