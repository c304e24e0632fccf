"""Model files before launch, without holding up a tick.

A replica about to launch asks `ModelStaging.stage` for its endpoint's files. Fetching runs as
a background task, one per fetch key (source and credential) however many replicas or
endpoints wait; meanwhile the replica stays PENDING with reason ModelDownloading and a
progress detail (written at most once a second), the endpoint gets a ModelDownloading event at
the start and at each quarter, and ModelReady once it has them. A source that cannot be fetched
(ModelUnavailable) fails the replica, and the failure is remembered per fetch key for the
replica's backoff, so retries cannot hammer the source; a new token is a new key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from modelport.clock import Clock
from modelport.domain.decisions import EventReason, ReplicaReason
from modelport.domain.errors import ModelUnavailable
from modelport.domain.records import Endpoint, LeaseFence, Replica
from modelport.models.fetch import Fetch, FetchProgress, ModelFetcher
from modelport.security.secrets import SecretBox
from modelport.services import spec_secrets
from modelport.store.base import Store

log = logging.getLogger(__name__)

EventWriter = Callable[[Endpoint, EventReason, str, int | None], Awaitable[None]]
DETAIL_EVERY = timedelta(seconds=1)  # a waiting replica's detail is rewritten at most this often
# A finished fetch is reused this long before the next launch asks the source again (a branch
# may move); its files stay cached by content either way.
REUSE_FOR = timedelta(minutes=5)
_STEPS = 4  # progress events at each quarter
_MB = 1_000_000


@dataclass(frozen=True)
class StagedModel:
    """The model's files on this host for LaunchContext.model_path: a directory, or the one
    file the spec names; None when the spec has nothing to fetch (a local path, an image)."""

    path: str | None


@dataclass
class _Fetching:
    job: Fetch
    task: asyncio.Task[Path]
    progress: FetchProgress
    finished_at: datetime | None = None
    waiters: set[int] = field(default_factory=set)  # replica ids told to wait for it


@dataclass(frozen=True)
class _Failed:
    error: ModelUnavailable
    until: datetime  # new launches get the error without asking the source until then
    waiters: set[int]  # replicas that waited for the failed fetch get its error in any case


class ModelStaging:
    def __init__(
        self,
        fetcher: ModelFetcher,
        store: Store,
        box: SecretBox,
        clock: Clock,
        *,
        backoff: Callable[[int], float],
        fence: Callable[[], LeaseFence | None] = lambda: None,
        on_done: Callable[[], None] = lambda: None,
    ) -> None:
        self._fetcher = fetcher
        self._store = store
        self._box = box
        self._clock = clock
        self._backoff = backoff  # restart count -> seconds: how long a failure is remembered
        self._fence = fence
        self._on_done = on_done  # a fetch ended: launch (or fail) its waiters now
        self._fetches: dict[str, _Fetching] = {}
        self._failed: dict[str, _Failed] = {}
        self._details: dict[int, datetime] = {}  # replica id -> when its detail was written
        self._steps: dict[tuple[int, str], int] = {}  # (endpoint, key) -> last step announced

    async def stage(
        self, endpoint: Endpoint, replica: Replica, event: EventWriter
    ) -> StagedModel | None:
        """The files for `replica` to launch with, or None while they are fetched (the replica
        is kept PENDING, ModelDownloading). ModelUnavailable when they cannot be fetched."""
        env = spec_secrets.engine_environment(endpoint.spec, self._box)
        fetch_of = self._fetcher.fetch_of
        job = await asyncio.to_thread(fetch_of, endpoint.project_id, endpoint.spec, env)
        if job is None:
            return StagedModel(None)
        now = self._clock.now()
        failed = self._failed.get(job.key)
        if failed is not None and (failed.until > now or replica.id in failed.waiters):
            failed.waiters.discard(replica.id)
            raise failed.error  # remembered: the source is not asked again yet
        fetching = self._fetches.get(job.key)
        if fetching is None or _stale(fetching, now):
            fetching = self._start(job)
        if not fetching.task.done():
            await self._waiting(endpoint, replica, fetching, event)
            return None
        return await self._finished(endpoint, replica, fetching, event)

    async def close(self) -> None:
        """Cancel fetches in flight (shutdown); their partial files are resumed next time."""
        tasks = [f.task for f in self._fetches.values() if not f.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._fetches.clear()

    def _start(self, job: Fetch) -> _Fetching:
        progress = FetchProgress()
        task = asyncio.create_task(self._fetcher.fetch(job, progress), name=f"fetch {job.label}")
        fetching = _Fetching(job, task, progress)
        self._fetches[job.key] = fetching
        self._failed.pop(job.key, None)

        def ended(_task: asyncio.Task[Path]) -> None:
            fetching.finished_at = self._clock.now()
            self._on_done()

        task.add_done_callback(ended)
        return fetching

    async def _finished(
        self, endpoint: Endpoint, replica: Replica, fetching: _Fetching, event: EventWriter
    ) -> StagedModel:
        key, task = fetching.job.key, fetching.task
        self._details.pop(replica.id, None)
        if task.cancelled():
            self._fetches.pop(key, None)
            raise ModelUnavailable(f"fetching {fetching.job.label} was cancelled; retrying")
        error = task.exception()
        if error is not None:
            self._fetches.pop(key, None)
            self._steps.pop((endpoint.id, key), None)
            if not isinstance(error, ModelUnavailable):  # a bug or a disk problem: say which
                log.error("fetching %s failed", fetching.job.label, exc_info=error)
                error = ModelUnavailable(
                    f"fetching {fetching.job.label} failed: {type(error).__name__}: {error}"
                )
            delay = timedelta(seconds=self._backoff(replica.restart_count))
            waiters = fetching.waiters - {replica.id}
            self._failed[key] = _Failed(error, self._clock.now() + delay, waiters)
            raise error
        path = task.result()
        if not path.exists():  # the cache was cleaned since: fetch again
            self._fetches.pop(key, None)
            raise ModelUnavailable(f"the files of {fetching.job.label} left the cache; retrying")
        if self._steps.pop((endpoint.id, key), None) is not None:
            message = f"model files of {fetching.job.label} are on this host: {path}"
            await event(endpoint, EventReason.MODEL_READY, message, replica.id)
        return StagedModel(str(path))

    async def _waiting(
        self, endpoint: Endpoint, replica: Replica, fetching: _Fetching, event: EventWriter
    ) -> None:
        fetching.waiters.add(replica.id)
        detail = _detail(fetching)
        step_key = (endpoint.id, fetching.job.key)
        step = _step(fetching.progress)
        if self._steps.get(step_key, -1) < step:
            self._steps[step_key] = step
            await event(endpoint, EventReason.MODEL_DOWNLOADING, detail, replica.id)
        now = self._clock.now()
        last = self._details.get(replica.id)
        if last is not None and now - last < DETAIL_EVERY:
            return
        self._details = {r: at for r, at in self._details.items() if now - at < REUSE_FOR}
        self._details[replica.id] = now  # (entries of replicas gone meanwhile age out above)
        await asyncio.to_thread(
            partial(
                self._store.set_pending_reason,
                replica.id,
                reason=ReplicaReason.MODEL_DOWNLOADING,
                detail=detail,
                now=now,
                next_attempt_at=now,  # asked again each tick (and at once when it ends)
                fence=self._fence(),
            )
        )


def _stale(fetching: _Fetching, now: datetime) -> bool:
    """A fetch that succeeded too long ago to reuse (a failed one is judged by `_finished`)."""
    task, finished = fetching.task, fetching.finished_at
    if finished is None or not task.done():
        return False
    if task.cancelled():
        return True
    return task.exception() is None and now - finished > REUSE_FOR


def _step(progress: FetchProgress) -> int:
    """0 at the start, then 1, 2, 3 at each quarter of a download whose size is known."""
    percent = progress.percent
    return 0 if percent is None else min(_STEPS - 1, percent * _STEPS // 100)


def _detail(fetching: _Fetching) -> str:
    """e.g. "downloading HuggingFaceTB/SmolLM2@main 45% (61 of 135 MB)"."""
    progress, label = fetching.progress, fetching.job.label
    if progress.total is None:
        return f"fetching {label}: checking the source and the cache"
    done, total = progress.done // _MB, progress.total // _MB
    return f"downloading {label} {progress.percent}% ({done} of {total} MB)"
