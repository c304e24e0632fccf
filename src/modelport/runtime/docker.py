"""Replicas as containers on a Docker daemon (the `docker` SDK; the one module family that
talks to Docker: docker_config.py builds what is created, docker_images.py pulls,
docker_logs.py copies output to the replica log file).

The engine listens on the same port inside the container as the one published on the host's
loopback, so the gateway and probes reach it at 127.0.0.1:port as they reach local replicas.
Containers are labelled with the replica key and this server home's install id; the handle
keeps the container id, so a restarted server adopts a running container by id. Docker never
restarts one (restart policy "no"): the controller sees the exit and replaces it, and stop
removes it, so nothing is left behind. Blocking SDK calls run in threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import docker
from docker import DockerClient
from docker.errors import APIError, DockerException, NotFound
from docker.models.containers import Container
from requests import RequestException

from modelport.domain.errors import PermanentError, TemporaryError
from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import Resources, RuntimeKind
from modelport.runtime.base import ProcessState, ProcessStatus, on_one_host, only_backend
from modelport.runtime.docker_config import (
    LABEL_INSTALL,
    LOOPBACK,
    CreateConfig,
    create_config,
)
from modelport.runtime.docker_images import ImagePuller
from modelport.runtime.docker_logs import LogFollowers, write_banner
from modelport.runtime.gpus import query_gpus
from modelport.runtime.logfile import tail
from modelport.runtime.ports import PortAllocator

log = logging.getLogger("modelport.runtime.docker")

LISTEN_HOST = "0.0.0.0"  # inside the container; published on the host's loopback only
_RUNNING = ProcessStatus(state=ProcessState.RUNNING)
_MISSING = ProcessStatus(state=ProcessState.MISSING)
_LIVE = frozenset({"created", "running", "restarting", "paused"})
_CONFLICT = 409  # the daemon's answer to a second removal of the same container
_EXEC_POLL_SECONDS = 0.05
_DAEMON_RETRY_SECONDS = 10.0
_POOL_SIZE = 64
_FORGET_EXITED_SECONDS = 600.0  # exit codes of removed containers are kept this long
_T = TypeVar("_T")


def install_id(home: Path) -> str:
    """This server home's id, created once: its containers carry it as a label."""
    path = home / "install-id"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        new = uuid.uuid4().hex[:12]
        path.write_text(new + "\n")
        return new


class DockerRuntime:
    name = "docker"

    def __init__(
        self, logs_dir: Path, install: str, base_url: str | None = None, timeout: float = 60.0
    ) -> None:
        self.logs_dir = logs_dir
        self.install = install
        self._base_url = base_url  # None: DOCKER_HOST or the local socket
        self._timeout = timeout
        self._client: DockerClient | None = None
        self._followers: LogFollowers | None = None
        self._ports = PortAllocator(LOOPBACK)  # free on the loopback, where it is published
        self._gpus: dict[str, int] | None = None
        self._puller = ImagePuller()  # pulls in the background: start() never waits on one
        # How containers that ended were seen, by id, after they were removed; kept a while.
        self._exited: dict[str, tuple[ProcessStatus, float]] = {}

    # --- RuntimeBackend -------------------------------------------------------------------
    def select(self, kind: RuntimeKind | None) -> DockerRuntime:
        return only_backend(self, kind)

    def address(self) -> tuple[str, int]:
        return LISTEN_HOST, self._ports.allocate()

    async def place(self, replica_key: str, resources: Resources) -> Slot:
        on_one_host(self.name, resources)
        host, port = self.address()
        return Slot(host=host, port=port)

    async def release(self, replica_key: str) -> None:
        return None  # place() holds nothing: the port is only chosen

    async def start(self, replica_key: str, plan: LaunchPlan) -> ReplicaHandle:
        config = create_config(replica_key, plan, self.install)  # PermanentError: no image
        log_path = self.logs_dir / f"{replica_key}.log"
        container = await self._call(self._create_and_start, replica_key, config, plan, log_path)
        container_id: str = container.id or ""
        log.info("started %s as container %s (%s)", replica_key, container_id[:12], config.name)
        return ReplicaHandle(
            backend=self.name,
            host=LOOPBACK,
            port=plan.port,
            container_id=container_id,
            log_path=str(log_path),
        )

    async def status(self, handle: ReplicaHandle) -> ProcessStatus:
        exited = self._exited.get(handle.container_id or "")
        if exited is not None:
            return exited[0]
        container = await self._find(handle)
        if container is None:
            return _MISSING
        state = container.attrs.get("State", {})
        if state.get("Status") in _LIVE:
            if handle.log_path:  # adopted after a restart: its output goes on to the file
                self._logs().follow(container.id or "", Path(handle.log_path))
            return _RUNNING
        # The controller replaces a crashed replica without stopping it: remove the dead
        # container now (its output is in the log file) and remember how it ended.
        status = ProcessStatus(state=ProcessState.EXITED, exit_code=state.get("ExitCode"))
        self._forget_old_exits()
        self._exited[container.id or ""] = (status, time.monotonic())
        await self._call(self._stop_and_remove, container.id or "", 0.0)
        return status

    async def stop(self, handle: ReplicaHandle, grace_seconds: float) -> None:
        if handle.container_id is None:
            return
        await self._call(self._stop_and_remove, handle.container_id, grace_seconds)
        self._exited.pop(handle.container_id, None)  # stopped: gone, not crashed

    async def exec_probe(self, handle: ReplicaHandle, argv: list[str], timeout: float) -> bool:
        if not argv or handle.container_id is None:
            return False
        try:
            exec_id = await self._call(self._exec_start, handle.container_id, argv)
        except (PermanentError, TemporaryError):
            return False
        deadline = time.monotonic() + timeout
        info: dict[str, object] = {}
        while time.monotonic() < deadline:
            info = await self._call(self._exec_inspect, exec_id)
            if not info.get("Running"):
                return info.get("ExitCode") == 0
            await asyncio.sleep(_EXEC_POLL_SECONDS)
        # Timed out: end it (Docker has no call for that; its pid is a host pid).
        pid = info.get("Pid")
        if isinstance(pid, int) and pid > 0:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return False

    async def read_logs(self, handle: ReplicaHandle, tail_bytes: int = 64_000) -> str:
        if handle.log_path is None:
            return ""
        return await asyncio.to_thread(tail, Path(handle.log_path), tail_bytes)

    async def cpu_seconds(self, handles: Sequence[ReplicaHandle]) -> list[float | None]:
        return list(await asyncio.gather(*(self._cpu(h) for h in handles)))

    def gpu_inventory(self) -> dict[str, int]:
        if self._gpus is None:
            self._gpus = query_gpus()
        return dict(self._gpus)

    # --- beyond the protocol ----------------------------------------------------------------
    async def list_replicas(self) -> list[Container]:
        """Every container of this server home, running or not (cleanup, tests). Sparse: the
        list's own fields (Id, Labels, State, ImageID), no inspect that races a removal."""
        label = f"{LABEL_INSTALL}={self.install}"
        return await self._call(
            lambda: self._client_now().containers.list(
                all=True, sparse=True, filters={"label": label}
            )
        )

    # --- helpers ------------------------------------------------------------------------------
    def _create_and_start(
        self, replica_key: str, config: CreateConfig, plan: LaunchPlan, log_path: Path
    ) -> Container:
        client = self._client_now()
        assert plan.container is not None  # create_config checked it
        self._puller.ensure(client, plan.container, replica_key)  # ReplicaPreparing meanwhile
        write_banner(log_path, f"container {plan.container.image}")
        container = config.create(client)
        try:
            container.start()
        except APIError as exc:
            with contextlib.suppress(DockerException):
                container.remove(force=True, v=True)  # nothing left behind of a failed start
            raise PermanentError(
                f"container of {plan.container.image!r} cannot start: {exc.explanation or exc}"
            ) from exc
        since = time.time() - 1  # from its first line, whatever the clocks' granularity
        self._logs().follow(container.id or "", log_path, since=since)
        return container

    def _stop_and_remove(self, container_id: str, grace_seconds: float) -> None:
        client = self._client_now()
        try:
            container = client.containers.get(container_id)
            if container.status in _LIVE:
                # SIGTERM, then SIGKILL after the grace (what `docker stop -t` does).
                container.stop(timeout=max(0, round(grace_seconds)))
            container.remove(force=True, v=True)
        except NotFound:
            pass  # gone already: stop is idempotent
        except APIError as exc:
            # 409 "removal ... is already in progress": status() saw it exit and removes it.
            if exc.status_code != _CONFLICT:
                raise
        self._logs().forget(container_id)

    def _exec_start(self, container_id: str, argv: list[str]) -> str:
        api = self._client_now().api
        exec_id: str = api.exec_create(container_id, argv, stdout=False, stderr=False)["Id"]
        api.exec_start(exec_id, detach=True)
        return exec_id

    def _forget_old_exits(self) -> None:
        now = time.monotonic()
        self._exited = {
            k: v for k, v in self._exited.items() if now - v[1] < _FORGET_EXITED_SECONDS
        }

    def _exec_inspect(self, exec_id: str) -> dict[str, object]:
        info: dict[str, object] = self._client_now().api.exec_inspect(exec_id)
        return info

    async def _find(self, handle: ReplicaHandle) -> Container | None:
        if handle.container_id is None:
            return None
        container_id = handle.container_id

        def get() -> Container | None:
            try:
                return self._client_now().containers.get(container_id)
            except NotFound:
                return None

        return await self._call(get)

    async def _cpu(self, handle: ReplicaHandle) -> float | None:
        if handle.container_id is None:
            return None
        container_id = handle.container_id

        def read() -> float | None:
            stats = self._client_now().api.stats(container_id, stream=False, one_shot=True)
            total = stats.get("cpu_stats", {}).get("cpu_usage", {}).get("total_usage")
            return None if total is None else total / 1e9

        try:
            return await self._call(read)
        except (PermanentError, TemporaryError):
            return None

    async def _call(self, fn: Callable[..., _T], *args: object) -> _T:
        """`fn` in a thread, the daemon's failures as our errors (ImagePullFailed and our own
        errors pass through)."""
        try:
            return await asyncio.to_thread(fn, *args)
        except NotFound as exc:
            raise PermanentError(f"docker: {exc.explanation or exc}") from exc
        except APIError as exc:
            if exc.is_server_error():
                raise TemporaryError(f"docker: {exc.explanation or exc}", delay=5.0) from exc
            raise PermanentError(f"docker: {exc.explanation or exc}") from exc
        except (DockerException, RequestException) as exc:
            self._client = None  # connect afresh next time
            raise TemporaryError(
                f"the Docker daemon is not reachable ({self._base_url or 'local socket'}): "
                f"{exc}; is dockerd running and MODELPORT_DOCKER_HOST right? (docs/runtimes.md)",
                delay=_DAEMON_RETRY_SECONDS,
            ) from exc

    def _client_now(self) -> DockerClient:
        if self._client is None:
            # Log followers each hold a connection open: room for many replicas.
            timeout = round(self._timeout)
            if self._base_url:
                self._client = DockerClient(
                    base_url=self._base_url, timeout=timeout, max_pool_size=_POOL_SIZE
                )
            else:
                self._client = docker.from_env(timeout=timeout, max_pool_size=_POOL_SIZE)
            self._followers = None
        return self._client

    def _logs(self) -> LogFollowers:
        if self._followers is None:
            self._followers = LogFollowers(self._client_now())
        return self._followers
