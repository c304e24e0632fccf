"""A container's output appended to its replica log file, the same file `modelport logs` reads
for local replicas. One daemon thread per running container follows `docker logs`; after a
server restart, following resumes from the file's last write, so little is repeated or lost."""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

from docker import DockerClient
from docker.errors import DockerException
from requests import RequestException

log = logging.getLogger("modelport.runtime.docker")


class LogFollowers:
    def __init__(self, client: DockerClient) -> None:
        self._client = client
        self._threads: dict[str, threading.Thread] = {}  # by container id
        self._lock = threading.Lock()

    def follow(self, container_id: str, path: Path, since: float | None = None) -> None:
        """Follow unless a follower of this container already runs. `since`: a timestamp to
        start at; None resumes after the file's last write (or from the start)."""
        with self._lock:
            running = self._threads.get(container_id)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(
                target=self._copy,
                args=(container_id, path, _resume_at(path) if since is None else since),
                name=f"docker-logs-{container_id[:12]}",
                daemon=True,
            )
            self._threads[container_id] = thread
        thread.start()

    def forget(self, container_id: str) -> None:
        with self._lock:
            self._threads.pop(container_id, None)

    def _copy(self, container_id: str, path: Path, since: float) -> None:
        try:
            stream = self._client.api.logs(
                container_id, stream=True, follow=True, since=since or None
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "ab", buffering=0) as out:
                for chunk in stream:  # ends when the container stops
                    out.write(chunk)
        except (DockerException, RequestException, OSError) as exc:
            log.debug("following the logs of container %s ended: %s", container_id[:12], exc)


def _resume_at(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def write_banner(path: Path, what: str) -> None:
    """The same first line a local replica's log gets (argv may hold secrets: image only)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "ab") as out:
        out.write(f"--- modelport: {stamp} starting {what} ---\n".encode())
