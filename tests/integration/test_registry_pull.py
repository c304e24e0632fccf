"""Private pulls from a real registry (Debian's docker-registry, htpasswd auth, on loopback):
the right login runs the replica, anything else is an ImagePullFailed that names the image and
what the registry said; pull policies Always / IfNotPresent / Never. Pulls run in the
background: start() answers ReplicaPreparing (with progress) until the image is there, and replicas
waiting for the same image share one pull."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from docker import DockerClient
from docker.errors import ImageNotFound

from modelport.domain.errors import ImagePullFailed, ReplicaPreparing
from modelport.domain.launch import ContainerPlan, LaunchPlan, RegistryLogin
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import ProbeProtocol, ProbeSpec, PullPolicy
from modelport.runtime.base import ProcessState
from modelport.runtime.docker import DockerRuntime
from modelport.runtime.docker_images import PullProgress
from tests.support.docker import (
    GatedProxy,
    Registry,
    build_tiny_image,
    docker_client,
    push,
    running_registry,
)

__all__ = ["docker_client"]  # a fixture used below

REF = "private/tiny:v1"


@pytest.fixture(scope="module")
def registry(
    docker_client: DockerClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    with running_registry(tmp_path_factory.mktemp("registry")) as running:
        push(docker_client, build_tiny_image(docker_client), running, REF)
        yield running
        forget(docker_client, f"{running.server}/{REF}")  # the moved tag's image goes with it


@pytest.fixture
def runtime(tmp_path: Path) -> DockerRuntime:
    return DockerRuntime(tmp_path / "logs", install=f"test-{secrets.token_hex(4)}")


def plan(
    runtime: DockerRuntime, image: str, login: RegistryLogin | None, policy: PullPolicy
) -> LaunchPlan:
    host, port = runtime.address()
    tcp = ProbeSpec(protocol=ProbeProtocol.TCP)
    container = ContainerPlan(
        image=image, args=["sleep", "300"], pull_policy=policy, registry=login
    )
    return LaunchPlan(
        argv=[], host=host, port=port, readiness=tcp, liveness=tcp, container=container
    )


def login(registry: Registry, password: str | None = None) -> RegistryLogin:
    return RegistryLogin(
        server=registry.server, username=registry.username, password=password or registry.password
    )


PULL_DEADLINE = 60.0  # a loopback registry and a tiny image: seconds, even on a loaded machine


async def start(
    runtime: DockerRuntime,
    key: str,
    launch: LaunchPlan,
    heard: list[ReplicaPreparing] | None = None,
) -> ReplicaHandle:
    """start() as the controller calls it: again while the image is pulled in the background
    (what each call heard goes into `heard`); ImagePullFailed and the rest pass through."""
    deadline = time.monotonic() + PULL_DEADLINE
    while True:
        try:
            return await runtime.start(key, launch)
        except ReplicaPreparing as pulling:
            if heard is not None:
                heard.append(pulling)
            assert time.monotonic() < deadline, f"still pulling: {pulling.message}"
            await asyncio.sleep(0.1)


@contextlib.asynccontextmanager
async def started(runtime: DockerRuntime, launch: LaunchPlan) -> AsyncIterator[ReplicaHandle]:
    handle = await start(runtime, f"pull-r1-g{secrets.randbelow(1000)}", launch)
    try:
        yield handle
    finally:
        await runtime.stop(handle, grace_seconds=0)


def forget(client: DockerClient, image: str) -> None:
    with contextlib.suppress(ImageNotFound):
        client.images.remove(image)


async def test_right_login_pulls_and_runs_the_replica(
    docker_client: DockerClient, registry: Registry, runtime: DockerRuntime
) -> None:
    image = f"{registry.server}/{REF}"
    forget(docker_client, image)
    async with started(
        runtime, plan(runtime, image, login(registry), PullPolicy.IF_NOT_PRESENT)
    ) as handle:
        assert (await runtime.status(handle)).state is ProcessState.RUNNING
    assert docker_client.images.get(image)  # pulled
    forget(docker_client, image)


async def test_replicas_waiting_for_one_image_share_one_background_pull(
    docker_client: DockerClient, registry: Registry, runtime: DockerRuntime
) -> None:
    # The registry behind a gate: the pull stays in flight until both replicas have asked.
    gate = GatedProxy(int(registry.server.rsplit(":", 1)[1]))
    via_gate = Registry(gate.server, registry.username, registry.password)
    image = f"{gate.server}/{REF}"
    forget(docker_client, image)

    def launch() -> LaunchPlan:  # each replica its own port
        return plan(runtime, image, login(via_gate), PullPolicy.ALWAYS)

    handles: list[ReplicaHandle] = []
    try:
        gate.hold()
        first, second = launch(), launch()
        with pytest.raises(ReplicaPreparing) as began:
            await runtime.start("pull-r1-g1", first)
        with pytest.raises(ReplicaPreparing) as joined:
            await runtime.start("pull-r2-g1", second)
        assert (began.value.began, joined.value.began) == (True, False)
        assert f"pulling {image}" in joined.value.message
        gate.release()
        handles += [await start(runtime, "pull-r1-g1", first)]
        handles += [await start(runtime, "pull-r2-g1", second)]
        assert len(await runtime.list_replicas()) == 2
        # Always: a replica that comes later pulls afresh (its start is told to wait again).
        later: list[ReplicaPreparing] = []
        handles.append(await start(runtime, "pull-r3-g1", launch(), later))
        assert [p.began for p in later][:1] == [True]
    finally:
        gate.close()
        for handle in handles:
            await runtime.stop(handle, grace_seconds=0)
    forget(docker_client, image)


def downloading(layer: str, current: int, total: int) -> dict[str, object]:
    detail = {"current": current, "total": total}
    return {"status": "Downloading", "progressDetail": detail, "id": layer}


def test_progress_sums_the_layers_of_the_daemons_stream() -> None:
    """The stream's lines as dockerd writes them (id, status, progressDetail)."""
    progress = PullProgress("vllm/vllm-openai:v0.9")
    assert progress.text() == "pulling vllm/vllm-openai:v0.9: asking the registry"
    stream: list[dict[str, object]] = [
        {"status": "Pulling from vllm/vllm-openai", "id": "v0.9"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "a1"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "b2"},
        {"status": "Already exists", "progressDetail": {}, "id": "c3"},
        downloading("a1", 500_000_000, 2_000_000_000),
        downloading("b2", 100_000_000, 700_000_000),
    ]
    for line in stream:
        progress.update(line)
    assert progress.text() == "pulling vllm/vllm-openai:v0.9: 22% (0.6 of 2.7 GB, 1 of 3 layers)"
    progress.update({"status": "Download complete", "progressDetail": {}, "id": "b2"})
    progress.update(
        {"status": "Extracting", "progressDetail": {"current": 1, "total": 9}, "id": "b2"}
    )
    assert progress.text() == "pulling vllm/vllm-openai:v0.9: 44% (1.2 of 2.7 GB, 2 of 3 layers)"
    progress.update({"status": "Download complete", "progressDetail": {}, "id": "a1"})
    progress.update({"status": "Pull complete", "progressDetail": {}, "id": "b2"})
    assert progress.text() == "pulling vllm/vllm-openai:v0.9: downloaded, unpacking (2 of 3 layers)"


@pytest.mark.parametrize("password", [None, "wrong"], ids=["no login", "wrong password"])
async def test_missing_or_wrong_credentials_fail_the_pull(
    docker_client: DockerClient, registry: Registry, runtime: DockerRuntime, password: str | None
) -> None:
    image = f"{registry.server}/{REF}"
    forget(docker_client, image)
    credentials = None if password is None else login(registry, password)
    with pytest.raises(ImagePullFailed) as failed:
        await start(
            runtime, "pull-r1-g1", plan(runtime, image, credentials, PullPolicy.IF_NOT_PRESENT)
        )
    message = failed.value.message
    assert image in message and ("unauthorized" in message or "no basic auth" in message), message
    assert registry.password not in message and "wrong" not in message.replace(image, "")
    assert await runtime.list_replicas() == []


async def test_no_such_image_and_unreachable_registry_fail_the_pull(
    registry: Registry, runtime: DockerRuntime
) -> None:
    missing = f"{registry.server}/private/none:v1"
    with pytest.raises(ImagePullFailed, match=r"not found|unknown") as failed:
        await start(
            runtime, "pull-r1-g1", plan(runtime, missing, login(registry), PullPolicy.ALWAYS)
        )
    assert missing in failed.value.message

    away = "127.0.0.1:1/private/tiny:v1"  # nothing listens on port 1
    with pytest.raises(ImagePullFailed, match="connection refused") as failed:
        await start(runtime, "pull-r1-g1", plan(runtime, away, None, PullPolicy.IF_NOT_PRESENT))
    assert away in failed.value.message


async def test_pull_policies(
    docker_client: DockerClient, registry: Registry, runtime: DockerRuntime, tmp_path: Path
) -> None:
    image = f"{registry.server}/{REF}"
    forget(docker_client, image)
    with pytest.raises(ImagePullFailed, match="Never"):
        await start(runtime, "pull-r1-g1", plan(runtime, image, login(registry), PullPolicy.NEVER))

    first = await _running_image(runtime, image, registry, PullPolicy.IF_NOT_PRESENT)
    # The tag moves on the registry: a rebuilt image is pushed under the same name.
    moved = _variant(docker_client, tmp_path)
    assert push(docker_client, moved, registry, REF) != first
    forget(docker_client, moved)
    docker_client.images.get(first).tag(image)  # the daemon still has the old one under it

    assert await _running_image(runtime, image, registry, PullPolicy.IF_NOT_PRESENT) == first
    assert await _running_image(runtime, image, registry, PullPolicy.NEVER) == first
    assert await _running_image(runtime, image, registry, PullPolicy.ALWAYS) != first


async def _running_image(
    runtime: DockerRuntime, image: str, registry: Registry, policy: PullPolicy
) -> str:
    async with started(runtime, plan(runtime, image, login(registry), policy)):
        [container] = await runtime.list_replicas()
        return str(container.attrs["ImageID"])


def _variant(client: DockerClient, workdir: Path) -> str:
    """The tiny image with one more label: another image id."""
    base = build_tiny_image(client)
    (workdir / "Dockerfile").write_text(f"FROM {base}\nLABEL variant={secrets.token_hex(4)}\n")
    tag = f"modelport/tiny-variant:{secrets.token_hex(4)}"
    subprocess.run(
        ["docker", "build", "-q", "-t", tag, str(workdir)], check=True, capture_output=True
    )
    return tag
