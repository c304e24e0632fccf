"""The content-keyed model cache shared by processes on one host: two server processes
fetching the same Hugging Face files at once download them once (the per-key file lock) and
name the same path; staging copies publish all at once or not at all; keys are never paths."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import time
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest

from modelport.models.cache import ModelCache, content_key
from modelport.models.fetch import FetchProgress, HubFetch, ModelFetcher
from modelport.models.hub import HubClient, HubSource
from tests.support.hub import HubRepo, LocalHub, local_hub

REPO = "org/shared-gguf"
FILE = "shared.Q4.gguf"
CHUNK = 1 << 20  # the local hub writes bodies in 1 MiB chunks
WEIGHTS = bytes(range(256)) * (2 * CHUNK // 256)  # 2 MiB: held after the first chunk
DEADLINE_S = 60.0  # spawned children import huggingface_hub: slow on a loaded machine


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    weights = tmp_path_factory.mktemp("weights") / FILE
    weights.write_bytes(WEIGHTS)
    with local_hub(HubRepo(REPO, {FILE: weights}, token=None)) as running:
        yield running


def fetch_in_child(root: str, hub_url: str, start: Barrier, results: queue.Queue[str]) -> None:
    """A server process's fetch of REPO/FILE into the shared cache at `root` (spawned)."""
    cache = ModelCache(Path(root))
    fetcher = ModelFetcher(cache, HubClient(hub_url, cache.hf_cache))
    job = HubFetch(HubSource(repo_id=REPO, filename=FILE))
    start.wait(timeout=DEADLINE_S)  # imports done: both fetch from here on, at once
    try:
        path = asyncio.run(fetcher.fetch(job, FetchProgress()))
    except Exception as exc:  # the parent fails with it rather than waiting
        results.put(f"error: {type(exc).__name__}: {exc}")
    else:
        results.put(str(path))


def lock_holders(pids: list[int], locks: Path) -> int:
    """How many of the processes have a lock file of the cache open (holding or waiting)."""
    count = 0
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        try:
            targets = [os.readlink(fd) for fd in fds.iterdir()]
        except OSError:  # exited, or an fd closed while listed
            continue
        count += any(t.startswith(f"{locks}/") for t in targets)
    return count


def test_two_processes_fetching_the_same_files_download_them_once(
    hub: LocalHub, tmp_path: Path
) -> None:
    root = tmp_path / "cache"
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Barrier(3)
    results: multiprocessing.Queue[str] = spawn.Queue()
    children = [
        spawn.Process(target=fetch_in_child, args=(str(root), hub.url, start, results))
        for _ in range(2)
    ]
    hub.held_after = CHUNK  # the first download stops halfway until both are at the lock
    try:
        for child in children:
            child.start()
        start.wait(timeout=DEADLINE_S)
        pids = [c.pid for c in children if c.pid is not None]
        deadline = time.monotonic() + DEADLINE_S
        while lock_holders(pids, root / "locks") < 2:  # one downloads, one waits its turn
            assert time.monotonic() < deadline, "the two fetches never met at the lock"
            assert results.empty(), results.get()
            time.sleep(0.05)
        hub.gate.set()
        paths = [results.get(timeout=DEADLINE_S) for _ in children]
    finally:
        hub.gate.set()
        for child in children:
            child.join(timeout=DEADLINE_S)
            if child.is_alive():
                child.kill()

    assert paths[0] == paths[1] and not paths[0].startswith("error"), paths
    assert Path(paths[0]).name == FILE and Path(paths[0]).read_bytes() == WEIGHTS
    files = [r for r in hub.seen(REPO) if "/resolve/" in r.path]
    assert [r.method for r in files] == ["HEAD", "GET"]  # one process asked for the file
    assert [r.path for r in hub.seen(REPO) if r.path.startswith("/api/")] == [
        f"/api/models/{REPO}/revision/main"
    ] * 2  # both resolved the revision: the same content key
    ready = sorted(p.name for p in (root / "ready").iterdir())
    assert len(ready) == 1 and not ready[0].startswith(".")  # no link left half-renamed
    assert not (root / "tmp").exists() or list((root / "tmp").iterdir()) == []
    assert list(root.rglob("*.incomplete")) == []  # no partial download left behind


KEY = content_key("repo-files", "digest")


def test_a_staging_copy_is_invisible_until_published(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    staging = cache.staging(KEY)
    (staging / "weights.gguf").write_bytes(b"half")
    assert cache.ready(KEY) is None

    published = cache.publish(KEY, staging)

    assert published == cache.ready(KEY) and (published / "weights.gguf").read_bytes() == b"half"
    assert list((tmp_path / "tmp").iterdir()) == []
    assert oct(published.stat().st_mode & 0o777) == oct(0o755)  # replicas run as other users


def test_a_discarded_staging_copy_leaves_nothing(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    staging = cache.staging(KEY)
    (staging / "part").write_bytes(b"x")
    cache.discard(staging)
    assert cache.ready(KEY) is None and list((tmp_path / "tmp").iterdir()) == []


@pytest.mark.parametrize("key", ["../../etc", "ready", KEY.upper(), KEY + "/x", ""])
def test_a_key_that_is_not_a_content_key_is_refused(tmp_path: Path, key: str) -> None:
    cache = ModelCache(tmp_path)
    for use in (cache.ready, cache.staging):
        with pytest.raises(ValueError, match="not a content key"):
            use(key)
    assert list(tmp_path.iterdir()) == []  # nothing created outside or inside


async def test_the_lock_lets_one_task_in_at_a_time(tmp_path: Path) -> None:
    cache = ModelCache(tmp_path)
    inside: list[str] = []
    first_in = asyncio.Event()
    release = asyncio.Event()

    async def hold(name: str) -> None:
        async with cache.locked(KEY):
            inside.append(name)
            first_in.set()
            await release.wait()
            inside.append(f"{name} out")

    first = asyncio.create_task(hold("first"))
    await first_in.wait()
    second = asyncio.create_task(hold("second"))
    for _ in range(5):  # the second keeps waiting while the first holds it
        await asyncio.sleep(0)
    assert inside == ["first"]
    release.set()
    await asyncio.gather(first, second)
    assert inside == ["first", "first out", "second", "second out"]
