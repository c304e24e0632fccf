"""Hugging Face sources: resolve a repo's revision to its commit and download its files with
`huggingface_hub` (the only module that imports it) into a shared cache on this host.

Blocking calls: models/fetch.py runs them in a thread. Every failure a user can fix (no such
repo, revision or file, a refused token, the Hub unreachable) becomes ModelUnavailable with a
message saying what, why and what to do; never a traceback.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import httpx2
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

from modelport.domain.errors import ModelUnavailable

DEFAULT_REVISION = "main"
_TIMEOUT_SECONDS = 30.0
# What the Hub says for a token it does not know (any other 401 means "no access").
_INVALID_TOKEN = "Invalid credentials in Authorization header"  # noqa: S105 - a message


@dataclass(frozen=True, kw_only=True)
class HubSource:
    """A repo (at a revision) to fetch, and the token to fetch it with."""

    repo_id: str
    revision: str = DEFAULT_REVISION
    filename: str | None = None  # one file of the repo (e.g. a GGUF); None: every file
    token: str | None = field(default=None, repr=False)  # None: anonymous
    token_origin: str = "no token"  # noqa: S105 - where the token came from, for messages

    @property
    def credential(self) -> str:
        """Names the token without showing it: a new token is another credential."""
        if self.token is None:
            return "anonymous"
        return hashlib.sha256(self.token.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        at = f"{self.repo_id}@{self.revision}"
        return f"{at}/{self.filename}" if self.filename else at


@dataclass(frozen=True)
class Resolved:
    """A revision resolved to its commit, with the files to fetch and their sizes."""

    commit: str
    files: dict[str, int]  # repo-relative name -> bytes


class HubClient:
    """One Hub (`endpoint`, e.g. MODELPORT_HF_ENDPOINT) and the cache its files land in."""

    def __init__(self, endpoint: str, cache_dir: Path) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.cache_dir = cache_dir

    def resolve(self, source: HubSource) -> Resolved:
        """The commit `source.revision` names now and the files to fetch (one API call)."""
        api = HfApi(endpoint=self.endpoint, token=_token(source))
        try:
            info = api.model_info(
                source.repo_id,
                revision=source.revision,
                files_metadata=True,
                timeout=_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            raise self.unavailable(source, exc) from exc
        if info.sha is None:
            raise ModelUnavailable(f"{self.endpoint} gave no commit for {source.label}")
        files = {s.rfilename: s.size or 0 for s in info.siblings or []}
        if source.filename is not None:
            if source.filename not in files:
                raise ModelUnavailable(
                    f"Hugging Face repo {source.repo_id} at {source.revision} has no file "
                    f"{source.filename!r}; check model.path (a file name inside the repo)"
                )
            files = {source.filename: files[source.filename]}
        return Resolved(info.sha, files)

    def download(self, source: HubSource, resolved: Resolved) -> Path:
        """Download the resolved files (those already cached are not fetched again); returns
        the snapshot directory holding them."""
        snapshot: Path | None = None
        for name in sorted(resolved.files):
            try:
                local = hf_hub_download(
                    source.repo_id,
                    name,
                    revision=resolved.commit,
                    cache_dir=self.cache_dir,
                    endpoint=self.endpoint,
                    token=_token(source),
                    etag_timeout=_TIMEOUT_SECONDS,
                )
            except Exception as exc:
                raise self.unavailable(source, exc) from exc
            snapshot = Path(local).parents[len(PurePosixPath(name).parts) - 1]
        return snapshot or self.snapshot_dir(source, resolved)

    def snapshot_dir(self, source: HubSource, resolved: Resolved) -> Path:
        folder = "models--" + source.repo_id.replace("/", "--")
        return self.cache_dir / folder / "snapshots" / resolved.commit

    def bytes_on_disk(self, source: HubSource) -> int:
        """Bytes of the repo's blobs in the cache, partial downloads included (progress)."""
        blobs = self.cache_dir / ("models--" + source.repo_id.replace("/", "--")) / "blobs"
        try:
            return sum(entry.stat().st_size for entry in blobs.iterdir() if entry.is_file())
        except OSError:
            return 0

    def unavailable(self, source: HubSource, exc: Exception) -> ModelUnavailable:
        """What went wrong, for people: a ModelUnavailable to fail the replica with."""
        return ModelUnavailable(_explain(source, exc, self.endpoint))


def _token(source: HubSource) -> str | bool:
    # False, not None: None would make huggingface_hub read the server's own token.
    return source.token if source.token is not None else False


def _explain(source: HubSource, exc: Exception, endpoint: str) -> str:
    repo, with_token = source.repo_id, f"with {source.token_origin}"
    if isinstance(exc, GatedRepoError):
        return (
            f"Hugging Face repo {repo} is gated: accept its terms on the Hub with the account "
            f"of the token ({source.token_origin}), then restart the endpoint"
        )
    if isinstance(exc, RevisionNotFoundError):
        return f"Hugging Face repo {repo} has no revision {source.revision!r}; check model.revision"
    if isinstance(exc, RepositoryNotFoundError):
        return (
            f"Hugging Face repo {repo} not found at {endpoint} {with_token}: check model.hf_id; "
            "a private or gated repo needs a token that may read it (an integration in "
            "model.integration, or an HF_TOKEN secret)"
        )
    if isinstance(exc, HfHubHTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status == 401 or exc.response.headers.get("X-Error-Message") == _INVALID_TOKEN:
            return (
                f"the Hub at {endpoint} refused the token ({source.token_origin}) for {repo} "
                "(401 invalid credentials): replace the token, then restart the endpoint"
            )
        if status == 403:
            return (
                f"the Hub at {endpoint} forbids {repo} to the token ({source.token_origin}) "
                "(403): give the token read access to the repo"
            )
        return f"the Hub at {endpoint} answered {status} for {source.label}; retrying later"
    if isinstance(exc, EntryNotFoundError):
        return f"Hugging Face repo {repo} has no file {source.filename!r}; check model.path"
    if isinstance(exc, httpx2.HTTPError | OfflineModeIsEnabled | OSError):
        return (
            f"the Hub at {endpoint} is unreachable ({type(exc).__name__}) fetching "
            f"{source.label}: check the network and MODELPORT_HF_ENDPOINT"
        )
    return f"fetching {source.label} from {endpoint} failed: {type(exc).__name__}"
