"""DockerRuntime on the real daemon: llama.cpp and a custom serving image in containers built on
this host (tests/support/docker.py), the GGUF mounted read-only."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from docker import DockerClient

from modelport.domain.errors import PermanentError, TemporaryError
from modelport.domain.launch import ContainerPlan, LaunchPlan, MountPlan
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import ProbeProtocol, ProbeSpec, Resources
from modelport.runtime.base import ProcessState, ProcessStatus
from modelport.runtime.docker import DockerRuntime
from modelport.runtime.docker_config import create_config
from tests.support.docker import build_tiny_image, custom_image, docker_client, llamacpp_image

__all__ = ["custom_image", "docker_client", "llamacpp_image"]  # fixtures used below

pytestmark = pytest.mark.engine

CHAT = {"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 8}


def llamacpp_plan(runtime: DockerRuntime, image: str, gguf: Path, **changes: object) -> LaunchPlan:
    """llama.cpp's server from `image` (its entrypoint is `python3 -m llama_cpp.server`), the
    replica key in API_KEY as the llamacpp engine passes it, the GGUF mounted read-only."""
    host, port = runtime.address()
    args = ["--model", str(gguf), "--host", host, "--port", str(port)]
    args += ["--model_alias", "smol", "--n_ctx", "1024", "--n_threads", "1"]
    key = secrets.token_urlsafe(16)
    plan = LaunchPlan(
        argv=[],
        env={"API_KEY": key},
        replica_key=key,
        host=host,
        port=port,
        readiness=ProbeSpec(path="/docs", period_seconds=1.0),
        liveness=ProbeSpec(path="/docs"),
        container=ContainerPlan(image=image, args=args),
        mounts=[MountPlan(source=str(gguf), target=str(gguf))],
    )
    return plan.model_copy(update=changes)


async def wait_ready(runtime: DockerRuntime, handle: ReplicaHandle, path: str, key: str) -> None:
    deadline = time.monotonic() + 60
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            status = await runtime.status(handle)
            assert status.state is ProcessState.RUNNING, await runtime.read_logs(handle, 4000)
            try:
                url = f"http://{handle.host}:{handle.port}{path}"
                if (await client.get(url, headers=headers)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, await runtime.read_logs(handle, 4000)
            await asyncio.sleep(0.25)


async def chat(handle: ReplicaHandle, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(timeout=60) as client:
        url = f"http://{handle.host}:{handle.port}/v1/chat/completions"
        return await client.post(url, json=CHAT, headers=headers)


async def test_llamacpp_container_serves_is_adopted_and_leaves_nothing(
    docker_client: DockerClient, llamacpp_image: str, smollm2_path: Path, tmp_path: Path
) -> None:
    runtime = DockerRuntime(tmp_path / "logs", install=f"test-{secrets.token_hex(4)}")
    plan = llamacpp_plan(runtime, llamacpp_image, smollm2_path)
    assert plan.replica_key is not None
    handle = await runtime.start("smol-r7-g2", plan)
    try:
        assert (handle.backend, handle.host, handle.port) == ("docker", "127.0.0.1", plan.port)
        await wait_ready(runtime, handle, plan.readiness.path or "/", plan.replica_key)
        assert (await chat(handle, None)).status_code == 401  # the replica key is required
        answer = await chat(handle, plan.replica_key)
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"].strip()

        container = docker_client.containers.get(handle.container_id or "")
        bindings = container.attrs["HostConfig"]["PortBindings"]
        assert bindings == {
            f"{plan.port}/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(plan.port)}]
        }
        assert container.labels == {
            "modelport.replica": "smol-r7-g2",
            "modelport.install": runtime.install,
            "modelport.endpoint": "smol",
            "modelport.replica-id": "7",
        }
        mount = container.attrs["Mounts"][0]
        assert (mount["Source"], mount["RW"]) == (str(smollm2_path), False)
        assert [c.id for c in await runtime.list_replicas()] == [handle.container_id]

        # Exec probes run inside the container; a hung one is ended at its timeout.
        assert await runtime.exec_probe(handle, ["true"], timeout=10)
        assert not await runtime.exec_probe(handle, ["false"], timeout=10)
        assert not await runtime.exec_probe(handle, ["/no/such/binary"], timeout=10)
        assert not await runtime.exec_probe(handle, ["sleep", "30"], timeout=0.5)
        assert ((await runtime.cpu_seconds([handle]))[0] or 0) > 0

        # A restarted server (a new runtime, same install) sees the same container by its id.
        restarted = DockerRuntime(tmp_path / "logs", install=runtime.install)
        assert (await restarted.status(handle)).state is ProcessState.RUNNING
        logs = await restarted.read_logs(handle, tail_bytes=10**8)
        assert "starting container" in logs and "POST /v1/chat/completions" in logs

        container.kill()  # SIGKILL, as `docker kill` does
        await _until(lambda: runtime.status(handle), ProcessState.EXITED)
        assert (await runtime.status(handle)).exit_code == 137
        assert await runtime.list_replicas() == []  # the dead container is removed once seen
    finally:
        await runtime.stop(handle, grace_seconds=2)
    assert (await runtime.status(handle)).state is ProcessState.MISSING
    assert await runtime.list_replicas() == []  # stop removed it
    await runtime.stop(handle, grace_seconds=2)  # idempotent


async def test_custom_image_with_its_own_entrypoint_serves_real_inference(
    custom_image: str, smollm2_path: Path, tmp_path: Path
) -> None:
    runtime = DockerRuntime(tmp_path / "logs", install=f"test-{secrets.token_hex(4)}")
    host, port = runtime.address()
    key = secrets.token_urlsafe(16)
    plan = LaunchPlan(
        argv=[],
        env={"MODELPORT_REPLICA_KEY": key, "MODEL_PATH": "/models/smol.gguf"},
        host=host,
        port=port,
        readiness=ProbeSpec(path="/health", period_seconds=1.0),
        liveness=ProbeSpec(protocol=ProbeProtocol.TCP),
        container=ContainerPlan(image=custom_image),
        mounts=[MountPlan(source=str(smollm2_path), target="/models/smol.gguf")],
    )
    handle = await runtime.start("custom-r1-g1", plan)
    try:
        await wait_ready(runtime, handle, "/health", key)
        answer = await chat(handle, key)
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"].strip()
        assert "custom-chat: " in await runtime.read_logs(handle)
    finally:
        await runtime.stop(handle, grace_seconds=2)


async def test_a_scratch_disk_is_the_containers_own_volume_removed_with_it(
    docker_client: DockerClient, tmp_path: Path
) -> None:
    """TIR's disk (a mount without a host source): writable in the container, a volume of its
    own, gone when the replica stops; host paths stay bind mounts."""
    runtime = DockerRuntime(tmp_path / "logs", install=f"test-{secrets.token_hex(4)}")
    host, port = runtime.address()
    tcp = ProbeSpec(protocol=ProbeProtocol.TCP)
    plan = LaunchPlan(
        argv=[],
        host=host,
        port=port,
        readiness=tcp,
        liveness=tcp,
        container=ContainerPlan(
            image=build_tiny_image(docker_client),
            command=["sh", "-c", "echo hello > /mnt/models/written && exec sleep 300"],
        ),
        mounts=[MountPlan(source=None, target="/mnt/models", read_only=False, size_gb=10)],
    )
    handle = await runtime.start("disk-r1-g1", plan)
    try:
        container = docker_client.containers.get(handle.container_id or "")
        (mount,) = container.attrs["Mounts"]
        assert (mount["Type"], mount["Destination"], mount["RW"]) == ("volume", "/mnt/models", True)
        volume = mount["Name"]
        deadline = time.monotonic() + 30
        while not await runtime.exec_probe(handle, ["cat", "/mnt/models/written"], timeout=5):
            assert time.monotonic() < deadline, await runtime.read_logs(handle, 4000)
            await asyncio.sleep(0.2)
    finally:
        await runtime.stop(handle, grace_seconds=0)
    assert volume not in {v.name for v in docker_client.volumes.list()}  # nothing left behind


async def test_create_config_has_gpus_limits_and_labels(
    docker_client: DockerClient, llamacpp_image: str, smollm2_path: Path, tmp_path: Path
) -> None:
    runtime = DockerRuntime(tmp_path / "logs", install="test-config")
    resources = Resources(cpu=1.5, memory_mb=768, gpu_count=1)
    plan = llamacpp_plan(runtime, llamacpp_image, smollm2_path, resources=resources)
    config = create_config("smol-r1-g1", plan, runtime.install)
    # Created, never started: a GPU request needs the NVIDIA runtime only to run.
    container = config.create(docker_client)
    try:
        host = container.attrs["HostConfig"]
        requests = host["DeviceRequests"]
        assert [(r["Count"], r["Capabilities"]) for r in requests] == [(1, [["gpu"]])]
        assert host["Memory"] == 768 * 1024 * 1024
        assert host["NanoCpus"] == 1_500_000_000
        assert host["RestartPolicy"]["Name"] in {"", "no"}
        assert container.attrs["Config"]["Env"].count(f"PORT={plan.port}") == 1
    finally:
        container.remove(force=True)


async def test_engine_without_image_and_unreachable_daemon_are_clear_errors(
    llamacpp_image: str, smollm2_path: Path, tmp_path: Path
) -> None:
    runtime = DockerRuntime(tmp_path / "logs", install="test-errors")
    plan = llamacpp_plan(runtime, llamacpp_image, smollm2_path, container=None)
    with pytest.raises(PermanentError, match="no container image"):
        await runtime.start("smol-r1-g1", plan)

    away = DockerRuntime(tmp_path / "logs", install="x", base_url="unix:///nonexistent.sock")
    plan = llamacpp_plan(away, llamacpp_image, smollm2_path)
    with pytest.raises(TemporaryError, match="Docker daemon is not reachable"):
        await away.start("smol-r1-g1", plan)


async def _until(read: Callable[[], Awaitable[ProcessStatus]], state: ProcessState) -> None:
    deadline = time.monotonic() + 20
    while (await read()).state is not state:
        assert time.monotonic() < deadline, f"never {state}"
        await asyncio.sleep(0.1)
