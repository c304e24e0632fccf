"""Getting a replica's image onto the Docker host without holding up the caller: pull policies,
private registries, pulls in the background with progress, and pull failures turned into
ImagePullFailed that say which image, what the daemon said and what to do.

`ImagePuller.ensure` returns when the image is there, or raises ReplicaPreparing (retry soon; the
pull goes on in a thread, at most one per image and login however many replicas wait) or
ImagePullFailed. A multi-GB image therefore never holds a controller tick. The replicas that
waited for a pull (its waiters) each hear how it ended: its error once, or its success as the
pull that Always asks for, so the start after a pull does not pull again; a replica that comes
later with Always pulls afresh. Blocking (docker SDK inspect calls): run `ensure` in a thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from docker import DockerClient
from docker.errors import APIError, DockerException, ImageNotFound
from docker.utils import parse_repository_tag
from requests import RequestException

from modelport.domain.errors import ImagePullFailed, ReplicaPreparing
from modelport.domain.launch import ContainerPlan, RegistryLogin
from modelport.domain.specs import PullPolicy

log = logging.getLogger("modelport.runtime.docker")

_HINT = (
    "check the image name and tag, the registry integration's credentials "
    "(model.registry_integration), and that the registry is reachable from the Docker host"
)
RETRY_SECONDS = 1.0  # how soon a caller told ReplicaPreparing asks again
# How long an ended pull is kept for its waiters to hear of it (replicas deleted meanwhile never
# ask again).
KEEP_SECONDS = 60.0
_GB, _MB = 1_000_000_000, 1_000_000

PullKey = tuple[str, str, str]  # image, registry server, username ("" without a login)


@dataclass
class PullProgress:
    """Bytes downloaded per layer, from the daemon's stream (written by the pull's thread;
    read whole under the lock)."""

    image: str
    totals: dict[str, int] = field(default_factory=dict)  # layer id -> size, once known
    done: dict[str, int] = field(default_factory=dict)  # layer id -> bytes downloaded
    layers: set[str] = field(default_factory=set)
    complete: set[str] = field(default_factory=set)  # downloaded (or already on the host)
    extracted: set[str] = field(default_factory=set)  # unpacked (or already on the host)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def update(self, message: Mapping[str, object]) -> None:
        layer, status = message.get("id"), str(message.get("status", ""))
        if not isinstance(layer, str) or status.startswith("Pulling from"):  # id: the tag
            return
        detail = message.get("progressDetail")
        with self.lock:
            self.layers.add(layer)
            if status == "Downloading" and isinstance(detail, Mapping):
                current, total = detail.get("current"), detail.get("total")
                if isinstance(total, int) and total > 0:
                    self.totals[layer] = total
                if isinstance(current, int):
                    self.done[layer] = current
            elif status in ("Download complete", "Pull complete", "Already exists"):
                self.complete.add(layer)
                if layer in self.totals:
                    self.done[layer] = self.totals[layer]
                if status != "Download complete":
                    self.extracted.add(layer)

    def text(self) -> str:
        """e.g. "pulling vllm/vllm-openai:v0.9: 45% (1.2 of 2.7 GB, 3 of 7 layers)"."""
        with self.lock:
            total = sum(self.totals.values())
            done = sum(min(self.done.get(k, 0), v) for k, v in self.totals.items())
            layers, complete = len(self.layers), len(self.complete)
            extracted = len(self.extracted)
        if not layers:
            return f"pulling {self.image}: asking the registry"
        if complete == layers:  # unpacking takes a while too: say so, not "100%"
            return f"pulling {self.image}: downloaded, unpacking ({extracted} of {layers} layers)"
        counted = f"{complete} of {layers} layers"
        if not total:
            return f"pulling {self.image}: {counted}"
        return f"pulling {self.image}: {done * 100 // total}% ({_sizes(done, total)}, {counted})"


@dataclass
class _Pull:
    progress: PullProgress
    waiters: set[str]  # replica keys told ReplicaPreparing for it
    finished_at: float | None = None  # monotonic; None while in flight
    error: Exception | None = None


class ImagePuller:
    """One Docker host's pulls, keyed by image and login; thread-safe."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._pulls: dict[PullKey, _Pull] = {}
        self._lock = threading.Lock()

    def ensure(self, client: DockerClient, container: ContainerPlan, waiter: str) -> None:
        """Returns once the image is on the daemon per the plan's pull policy; ReplicaPreparing
        while a pull is in flight, ImagePullFailed (once per waiter) when it failed. `waiter`:
        the replica's key, the same at each retry."""
        image, policy, login = container.image, container.pull_policy, container.registry
        key = (image, login.server, login.username) if login else (image, "", "")
        with self._lock:
            self._forget_old()
            pull = self._pulls.get(key)
            if pull is not None and pull.finished_at is None:
                pull.waiters.add(waiter)
                raise ReplicaPreparing(pull.progress.text(), began=False, delay=RETRY_SECONDS)
            waited = pull is not None and waiter in pull.waiters
            if pull is not None and waited:
                pull.waiters.discard(waiter)  # heard once: a retry is a new try
            if pull is not None and pull.error is not None:
                if waited:  # the caller's backoff decides the next try
                    raise pull.error
                del self._pulls[key]  # a newcomer tries afresh
        if (waited or policy is not PullPolicy.ALWAYS) and _present(client, image):
            return
        if policy is PullPolicy.NEVER:
            raise ImagePullFailed(
                f"image {image!r} is not on the Docker host and image_pull_policy is Never; "
                "load it there (docker load / docker build) or use IfNotPresent"
            )
        raise self._begin(client, key, login, waiter)

    def _begin(
        self, client: DockerClient, key: PullKey, login: RegistryLogin | None, waiter: str
    ) -> ReplicaPreparing:
        image = key[0]
        with self._lock:
            pull = self._pulls.get(key)
            if pull is not None and pull.finished_at is None:  # another caller was quicker
                pull.waiters.add(waiter)
                return ReplicaPreparing(pull.progress.text(), began=False, delay=RETRY_SECONDS)
            pull = self._pulls[key] = _Pull(PullProgress(image), {waiter})
        where = f" (login to {login.server})" if login is not None else ""
        log.info("pulling %s%s in the background", image, where)
        thread = threading.Thread(
            target=self._run, args=(client, pull, login), name=f"pull {image}", daemon=True
        )
        thread.start()
        return ReplicaPreparing(pull.progress.text(), began=True, delay=RETRY_SECONDS)

    def _run(self, client: DockerClient, pull: _Pull, login: RegistryLogin | None) -> None:
        image, began = pull.progress.image, self._monotonic()
        error: Exception | None = None
        try:
            _pull(client, pull.progress, login)
        except ImagePullFailed as exc:
            error = exc
        except APIError as exc:
            said = str(exc.explanation or exc).strip()
            error = _failed(image, said)
        except (DockerException, RequestException) as exc:
            error = exc  # the daemon itself: the runtime says so as it does for any call
        except Exception as exc:  # a bug: said, not a pull that never ends
            log.exception("pulling %s failed", image)
            error = _failed(image, f"{type(exc).__name__}: {exc}")
        with self._lock:
            pull.error, pull.finished_at = error, self._monotonic()
        took = pull.finished_at - began
        if error is None:
            log.info("pulled %s in %.1fs", image, took)
        else:
            log.warning("pulling %s failed after %.1fs: %s", image, took, error)

    def _forget_old(self) -> None:
        """Drop ended pulls that every waiter heard of, or that were kept long enough."""
        now = self._monotonic()
        self._pulls = {
            k: p
            for k, p in self._pulls.items()
            if p.finished_at is None or (p.waiters and now - p.finished_at < KEEP_SECONDS)
        }


def _pull(client: DockerClient, progress: PullProgress, login: RegistryLogin | None) -> None:
    repository, tag = parse_repository_tag(progress.image)
    if tag is None and "@" not in repository:
        tag = "latest"
    auth = None
    if login is not None:  # never logged: only the server name is
        auth = {
            "username": login.username,
            "password": login.password,
            "serveraddress": login.server,
        }
    stream: Iterable[Mapping[str, object]] = client.api.pull(
        repository, tag=tag, stream=True, decode=True, auth_config=auth
    )
    for message in stream:
        said = _stream_error(message)
        if said is not None:
            raise _failed(progress.image, said)
        progress.update(message)


def _stream_error(message: Mapping[str, object]) -> str | None:
    detail = message.get("errorDetail")
    if isinstance(detail, Mapping) and detail.get("message"):
        return str(detail["message"]).strip()
    error = message.get("error")
    return None if error is None else str(error).strip()


def _failed(image: str, said: str) -> ImagePullFailed:
    return ImagePullFailed(f"image {image!r} could not be pulled: {said}; {_HINT}")


def _present(client: DockerClient, image: str) -> bool:
    try:
        client.images.get(image)
    except ImageNotFound:
        return False
    return True


def _sizes(done: int, total: int) -> str:
    unit, name = (_GB, "GB") if total >= _GB else (_MB, "MB")
    return f"{done / unit:.1f} of {total / unit:.1f} {name}"
