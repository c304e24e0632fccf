"""Make an endpoint's model files present on this host, once per content, and say where.

Sources (spec.model): `hf_id` (+ `revision`; `path` then names one file inside the repo)
downloads from the Hugging Face Hub with the token of `model.integration`, else the spec's
HF_TOKEN secret, else none; `model_id` copies (or names in place) a model of the model
repository. A plain `path` or an image has nothing to fetch.

Copies land in the ModelCache under a key naming their content (a repo's resolved commit and
files, a repository model's manifest digest), so every replica of every endpoint wanting the
same content shares one download: a per-key lock (asyncio + file lock), a staging directory
renamed into place. The controller runs `fetch` as a background task (controller/fetching.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from modelport.domain.errors import ModelportError, ModelUnavailable
from modelport.domain.specs import EndpointSpec
from modelport.models.cache import ModelCache, content_key
from modelport.models.hub import DEFAULT_REVISION, HubClient, HubSource

HF_TOKEN_ENV = "HF_TOKEN"  # noqa: S105 - the variable's name (DeepInfra hf.token, Tensormesh hfToken)
_POLL_SECONDS = 0.5  # how often download progress is measured


class TokenLookup(Protocol):
    """An integration's secret: (project id, integration name or id, spec field naming it) ->
    the decrypted value. Raises a ModelportError (NotFound, InvalidSpec) naming the field."""

    def __call__(self, project_id: int, ref: str, field: str) -> str: ...


class RepositoryFiles(Protocol):
    """A model of the model repository as this host gets its files."""

    @property
    def content_key(self) -> str: ...  # digest of the model's manifest

    @property
    def local_dir(self) -> Path | None: ...  # already on this host: used in place

    def copy_to(self, dest: Path, progress: Callable[[int, int], None] | None = None) -> None:
        """Copy every file under `dest` (blocking), calling `progress(done, total)` in bytes as
        they land; ModelUnavailable if one is missing or damaged."""
        ...


class RepositoryLookup(Protocol):
    """The model repository as the fetcher sees it (models/files.py's ModelFiles fit)."""

    def files_of(self, project_id: int, ref: str) -> RepositoryFiles:
        """A READY model of the project by name or id; NotFound otherwise."""
        ...


@dataclass
class FetchProgress:
    """Bytes fetched so far of `total` (None until known; 0 done when all was cached)."""

    done: int = 0
    total: int | None = None

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return min(100, self.done * 100 // self.total)


@dataclass(frozen=True)
class HubFetch:
    source: HubSource

    @property
    def key(self) -> str:
        """Same key: same fetch (shared by waiting replicas; failures remembered by it)."""
        s = self.source
        return content_key("hf", s.repo_id, s.revision, s.filename or "", s.credential)

    @property
    def label(self) -> str:
        return self.source.label


@dataclass(frozen=True)
class RepositoryFetch:
    project_id: int
    model: str  # the model's name or id in the project
    filename: str | None = None  # one file inside the model (model.path)

    @property
    def key(self) -> str:
        return content_key("repo", str(self.project_id), self.model, self.filename or "")

    @property
    def label(self) -> str:
        return f"model {self.model}"


Fetch = HubFetch | RepositoryFetch


@dataclass
class ModelFetcher:
    cache: ModelCache
    hub: HubClient
    hf_token: TokenLookup | None = None  # None: no integrations on this server
    repository: RepositoryLookup | None = None  # None: no model repository on this server

    def fetch_of(self, project_id: int, spec: EndpointSpec, env: Mapping[str, str]) -> Fetch | None:
        """What `spec` needs fetched (None: nothing, a local path or an image). Blocking: an
        integration's token is read from the store. ModelUnavailable when it cannot be."""
        model = spec.model
        if model.model_id is not None:
            return RepositoryFetch(project_id, model.model_id, model.path)
        if model.hf_id is None:
            return None
        token, origin = self._token(project_id, spec, env)
        source = HubSource(
            repo_id=model.hf_id,
            revision=model.revision or DEFAULT_REVISION,
            filename=model.path,
            token=token,
            token_origin=origin,
        )
        return HubFetch(source)

    async def fetch(self, job: Fetch, progress: FetchProgress) -> Path:
        """The local path of the job's files: a directory, or the one file it names."""
        match job:
            case HubFetch():
                return await self._from_hub(job.source, progress)
            case RepositoryFetch():
                return await self._from_repository(job, progress)

    async def _from_hub(self, source: HubSource, progress: FetchProgress) -> Path:
        resolved = await asyncio.to_thread(self.hub.resolve, source)
        key = content_key("hf-files", self.hub.endpoint, source.repo_id, resolved.commit,
                          *sorted(resolved.files))  # fmt: skip
        ready = self.cache.ready(key)
        if ready is None:
            async with self.cache.locked(key):
                ready = self.cache.ready(key)  # another task or process may have finished it
                if ready is None:
                    progress.total = sum(resolved.files.values())
                    before = await asyncio.to_thread(self.hub.bytes_on_disk, source)

                    def measure() -> int:
                        return self.hub.bytes_on_disk(source) - before

                    download = asyncio.to_thread(self.hub.download, source, resolved)
                    snapshot = await _measured(download, measure, progress)
                    ready = self.cache.publish_link(key, snapshot)
        return ready / source.filename if source.filename else ready

    async def _from_repository(self, job: RepositoryFetch, progress: FetchProgress) -> Path:
        if self.repository is None:
            raise ModelUnavailable(
                f"model.model_id: {job.model!r} names a model of the model repository, which "
                "this server does not run"
            )
        try:
            files = await asyncio.to_thread(self.repository.files_of, job.project_id, job.model)
        except ModelportError as exc:
            raise ModelUnavailable(f"model.model_id: {exc.message}") from exc
        ready = files.local_dir
        if ready is None:
            key = content_key("repo-files", files.content_key)
            ready = self.cache.ready(key)
            if ready is None:
                async with self.cache.locked(key):
                    ready = self.cache.ready(key)
                    if ready is None:
                        ready = await self._copy(key, files, progress)
        return ready / job.filename if job.filename else ready

    async def _copy(self, key: str, files: RepositoryFiles, progress: FetchProgress) -> Path:
        staging = self.cache.staging(key)

        def advance(done: int, total: int) -> None:  # called from the copying thread
            progress.total, progress.done = total, done

        copying = asyncio.ensure_future(asyncio.to_thread(files.copy_to, staging, advance))
        try:
            await asyncio.shield(copying)
            return self.cache.publish(key, staging)
        except BaseException:
            # Cancelled (shutdown) while the thread still copies: discard once it has stopped
            # writing, or it would recreate what was removed under tmp/.
            if copying.done():
                self.cache.discard(staging)
            else:
                copying.add_done_callback(lambda _done: self.cache.discard(staging))
            raise

    def _token(
        self, project_id: int, spec: EndpointSpec, env: Mapping[str, str]
    ) -> tuple[str | None, str]:
        """The token to fetch with and where it came from (for messages, never the value)."""
        ref = spec.model.integration
        if ref is not None:
            if self.hf_token is None:
                raise ModelUnavailable(
                    f"model.integration: {ref!r} cannot be read: this server has no integrations"
                )
            try:
                token = self.hf_token(project_id, ref, "model.integration")
            except ModelportError as exc:
                raise ModelUnavailable(exc.message) from exc
            return token, f"integration {ref!r}"
        if env.get(HF_TOKEN_ENV):
            return env[HF_TOKEN_ENV], f"the endpoint's {HF_TOKEN_ENV}"
        return None, "no token"


async def _measured(
    work: Coroutine[object, object, Path], measure: Callable[[], int], progress: FetchProgress
) -> Path:
    """Await `work`, measuring bytes on disk into `progress` meanwhile."""
    task = asyncio.ensure_future(work)
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=_POLL_SECONDS)
            done = await asyncio.to_thread(measure)
            progress.done = max(progress.done, min(done, progress.total or done))
    finally:
        if not task.done():
            task.cancel()
    result = task.result()
    progress.done = progress.total or progress.done
    return result
