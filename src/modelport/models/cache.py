"""This host's cache of model files, keyed by content (filled by models/fetch.py).

Layout under the cache root (Settings.model_cache_dir), readable by replicas, which may run as
other users:

  ready/<key>    a complete copy (a directory), or a link to one (a Hugging Face snapshot)
  tmp/<key>.*    a copy in progress: renamed into ready/ once complete (atomic publish), so a
                 reader sees all of a model or nothing
  locks/<key>    a file lock: one process fetches a key at a time (several server processes
                 may share the cache)
  huggingface/   huggingface_hub's own cache (blobs shared across revisions; it locks per file)
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

# Replicas (other uids when the server runs as root) must read what is published here.
_READABLE = 0o755
_KEY = re.compile(r"[0-9a-f]{64}")
_LOCK_POLL_SECONDS = 0.2


def content_key(*parts: str) -> str:
    """A cache key naming content: the sha256 of its identifying parts (a repo and commit, a
    model's manifest digest, the files chosen)."""
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


class ModelCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    @property
    def hf_cache(self) -> Path:
        """huggingface_hub's cache_dir."""
        return self._dir("huggingface")

    def ready(self, key: str) -> Path | None:
        """The complete copy for `key`, or None when it is not (yet, or any more) here."""
        path = self.root / "ready" / _checked(key)
        return path.resolve() if path.is_dir() else None

    @contextlib.asynccontextmanager
    async def locked(self, key: str) -> AsyncIterator[None]:
        """Held by one task of this process and one process on this host at a time."""
        lock = self._locks.setdefault(_checked(key), asyncio.Lock())
        async with lock:
            with (self._dir("locks") / key).open("a") as handle:
                # Non-blocking attempts, so a cancelled waiter leaves no thread holding it.
                while True:
                    try:
                        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        await asyncio.sleep(_LOCK_POLL_SECONDS)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def staging(self, key: str) -> Path:
        """A fresh empty directory to build `key`'s copy in, then `publish` it."""
        path = Path(tempfile.mkdtemp(prefix=f"{_checked(key)}.", dir=self._dir("tmp")))
        path.chmod(_READABLE)  # mkdtemp makes it 0700
        return path

    def publish(self, key: str, built: Path) -> Path:
        """Move a complete staging directory into place (one rename: all or nothing)."""
        target = self._dir("ready") / _checked(key)
        os.replace(built, target)  # an empty leftover target is replaced; a full one refuses
        return target.resolve()

    def publish_link(self, key: str, complete: Path) -> Path:
        """Name a complete directory kept elsewhere (a Hugging Face snapshot) as `key`."""
        ready = self._dir("ready")
        link = ready / f".{_checked(key)}.{os.getpid()}"
        link.unlink(missing_ok=True)
        link.symlink_to(complete, target_is_directory=True)
        os.replace(link, ready / key)  # atomic: readers see the old name or the new link
        return complete.resolve()

    def discard(self, built: Path) -> None:
        """Remove a staging directory that will not be published (a failed fetch)."""
        shutil.rmtree(built, ignore_errors=True)

    def _dir(self, name: str) -> Path:
        path = self.root / name
        if not path.is_dir():
            self.root.mkdir(parents=True, exist_ok=True, mode=_READABLE)
            path.mkdir(exist_ok=True, mode=_READABLE)
        return path


def _checked(key: str) -> str:
    if not _KEY.fullmatch(key):  # keys come from content_key: never a path of anyone's choosing
        raise ValueError(f"not a content key: {key!r}")
    return key
