"""Model files before launch: replicas wait PENDING (ModelDownloading, with progress) while one
background fetch per source runs against a real local Hub, then launch with the files; a
source that cannot be fetched fails them (ModelUnavailable) without hammering the Hub."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from modelport.controller.loop import Controller
from modelport.domain.decisions import ReplicaReason
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.records import Endpoint
from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import ReplicaState
from modelport.models.cache import ModelCache
from modelport.models.fetch import ModelFetcher
from modelport.models.hub import HubClient
from tests.support.hub import HUB_TOKEN, HubRepo, LocalHub, local_hub
from tests.unit.controller.conftest import StubEngine, World

REPO = "org/tiny-gguf"
FILE = "tiny.Q4.gguf"
# huggingface_hub writes a download in 10 MiB chunks: progress shows after the first one.
SIZE = 20 * 1024 * 1024


@dataclass
class RecordingEngine(StubEngine):
    """The stub engine, keeping each launch's context (model_path)."""

    contexts: list[LaunchContext] = field(default_factory=list)

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        self.contexts.append(ctx)
        return super().plan(spec, ctx)


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("weights") / FILE
    path.write_bytes(bytes(range(256)) * (SIZE // 256))
    return path


@pytest.fixture
def hub(weights: Path) -> Iterator[LocalHub]:
    with local_hub(HubRepo(REPO, {FILE: weights})) as running:
        yield running


@pytest.fixture
def engine(world: World) -> RecordingEngine:
    world.engines[Framework.CUSTOM] = recording = RecordingEngine()
    return recording


def controller(world: World, hub: LocalHub, tmp_path: Path) -> Controller:
    cache = ModelCache(tmp_path / "cache")
    fetcher = ModelFetcher(cache, HubClient(hub.url, cache.hf_cache))
    return Controller(
        world.store,
        world.runtime,
        world.box,
        world.clock,
        world.settings,
        holder_id="test",
        adapters=world.adapter,
        fetcher=fetcher,
    )


def hf_endpoint(world: World, repo: str = REPO, token: str = HUB_TOKEN, **model: str) -> Endpoint:
    env = [{"name": "HF_TOKEN", "value": token}]  # secret: a credential-like name
    return world.create("chat", replicas=2, model={"hf_id": repo, **model}, env=env)


async def tick_until(
    world: World, ctl: Controller, done: Callable[[], bool], timeout: float = 30
) -> None:
    """Tick (the fake clock one second a tick) until `done()`, yielding to the fetch between."""
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "condition not reached in time"
        await ctl.tick()
        world.clock.advance(1.0)
        await asyncio.sleep(0.02)  # the fetch runs in threads meanwhile


async def test_replicas_wait_for_one_download_then_launch_with_the_file(
    world: World, hub: LocalHub, engine: RecordingEngine, weights: Path, tmp_path: Path
) -> None:
    hub.held_after = SIZE * 3 // 4  # the body stops there until the test has seen progress
    ctl = controller(world, hub, tmp_path)
    endpoint = hf_endpoint(world, path=FILE)

    def downloading() -> bool:
        details = [r.detail for r in world.replicas(endpoint)]
        return len(details) == 2 and all("% (10 of 20 MB)" in d for d in details)

    await tick_until(world, ctl, downloading)
    replicas = world.replicas(endpoint)
    assert {r.state for r in replicas} == {ReplicaState.PENDING}
    assert {r.reason for r in replicas} == {ReplicaReason.MODEL_DOWNLOADING}
    assert replicas[0].detail == "downloading org/tiny-gguf@main/tiny.Q4.gguf 50% (10 of 20 MB)"
    assert world.runtime.running() == []

    hub.gate.set()
    await tick_until(world, ctl, lambda: len(world.runtime.running()) == 2)
    assert hub.downloads(REPO) == 1  # two replicas, one download
    paths = {ctx.model_path for ctx in engine.contexts}
    assert len(paths) == 1
    (path,) = paths
    assert path is not None and Path(path).name == FILE
    assert Path(path).read_bytes() == weights.read_bytes()
    reasons = world.reasons(endpoint)
    assert "ModelDownloading" in reasons and reasons.count("ModelReady") == 1
    assert [r.token for r in hub.seen(REPO)] == [HUB_TOKEN] * len(hub.seen(REPO))


async def test_a_second_endpoint_on_the_same_files_downloads_nothing(
    world: World, hub: LocalHub, engine: RecordingEngine, tmp_path: Path
) -> None:
    ctl = controller(world, hub, tmp_path)
    first = hf_endpoint(world, path=FILE)
    await tick_until(world, ctl, lambda: len(world.runtime.running()) == 2)
    world.create("other", replicas=1, model={"hf_id": REPO, "path": FILE},
                 env=[{"name": "HF_TOKEN", "value": HUB_TOKEN}])  # fmt: skip
    await tick_until(world, ctl, lambda: len(world.runtime.running()) == 3)
    assert hub.downloads(REPO) == 1
    assert len({ctx.model_path for ctx in engine.contexts}) == 1
    assert world.reasons(first).count("ModelReady") == 1


@pytest.mark.parametrize(
    ("repo", "token", "says"),
    [
        ("org/missing", HUB_TOKEN, "Hugging Face repo org/missing not found"),
        (REPO, "hf_wrong", "refused the token (the endpoint's HF_TOKEN)"),
    ],
)
async def test_an_unfetchable_model_fails_the_replicas_without_hammering_the_hub(
    world: World, hub: LocalHub, engine: RecordingEngine, tmp_path: Path,
    repo: str, token: str, says: str,
) -> None:  # fmt: skip
    ctl = controller(world, hub, tmp_path)
    endpoint = hf_endpoint(world, repo=repo, token=token)

    def unavailable() -> list[str]:
        events = world.store.list_events(endpoint.id)
        return [e.message for e in events if e.reason == "ModelUnavailable"]

    await tick_until(world, ctl, lambda: len(unavailable()) >= 2)
    assert len(hub.seen()) == 1  # two replicas failed by one question to the Hub
    assert all(says in m for m in unavailable()), unavailable()
    failed = [r for r in world.replicas(endpoint) if r.state is ReplicaState.FAILED]
    assert all(r.reason is ReplicaReason.MODEL_UNAVAILABLE for r in failed)

    # 20 s of retries under backoff (1, 2, 4, 8 s): a few more questions, not one per tick.
    for _ in range(20):
        await ctl.tick()
        world.clock.advance(1.0)
        await asyncio.sleep(0.01)
    assert 2 <= len(hub.seen()) <= 6, len(hub.seen())
    assert engine.contexts == []  # never launched
    assert world.runtime.running() == []


async def test_a_spec_without_a_source_to_fetch_launches_at_once(
    world: World, hub: LocalHub, engine: RecordingEngine, tmp_path: Path
) -> None:
    ctl = controller(world, hub, tmp_path)
    world.create("local", replicas=1)
    await ctl.tick()  # created
    await ctl.tick()  # launched: no fetch to wait for
    assert len(world.runtime.running()) == 1
    assert engine.contexts[0].model_path is None
    assert hub.seen() == []
