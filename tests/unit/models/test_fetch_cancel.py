"""A repository copy cancelled mid-way (the server shutting down) leaves nothing under the
cache's tmp/ once the copying thread has stopped: the thread cannot be interrupted, so the
staging copy is discarded after it ends, not while it still writes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modelport.models.cache import ModelCache
from modelport.models.fetch import FetchProgress, ModelFetcher, RepositoryFetch
from modelport.models.hub import HubClient


@dataclass
class SlowFiles:
    """A remote model whose copy writes one file, then waits for the test, then another."""

    started: threading.Event = field(default_factory=threading.Event)
    go_on: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)

    @property
    def content_key(self) -> str:
        return "a" * 64

    @property
    def local_dir(self) -> Path | None:
        return None

    def copy_to(self, dest: Path, progress: Callable[[int, int], None] | None = None) -> None:
        (dest / "part-1").write_bytes(b"x")
        self.started.set()
        self.go_on.wait(10)
        (dest / "sub").mkdir(parents=True, exist_ok=True)
        (dest / "sub" / "part-2").write_bytes(b"y")
        self.finished.set()


@dataclass
class OneModel:
    files: SlowFiles

    def files_of(self, project_id: int, ref: str) -> SlowFiles:
        return self.files


async def test_a_cancelled_copy_leaves_no_staging_directory(tmp_path: Path) -> None:
    files = SlowFiles()
    cache = ModelCache(tmp_path / "cache")
    fetcher = ModelFetcher(
        cache, HubClient("http://127.0.0.1:9", cache.hf_cache), repository=OneModel(files)
    )
    task = asyncio.create_task(fetcher.fetch(RepositoryFetch(1, "smol"), FetchProgress()))
    assert await asyncio.to_thread(files.started.wait, 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    files.go_on.set()  # the thread goes on writing after the cancel
    assert await asyncio.to_thread(files.finished.wait, 10)
    for _ in range(100):  # the discard runs on the loop once the thread's future is done
        await asyncio.sleep(0.01)
        if not any((tmp_path / "cache" / "tmp").iterdir()):
            break
    assert list((tmp_path / "cache" / "tmp").iterdir()) == []
    assert cache.ready(RepositoryFetch(1, "smol").key) is None
