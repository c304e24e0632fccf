"""A local HTTP server speaking enough of the Hugging Face Hub's API for huggingface_hub's real
download code path (no internet here): model info at a revision, the file tree, and
`/{repo}/resolve/{rev}/{file}` (HEAD and GET, Range) with the headers huggingface_hub reads
(X-Repo-Commit, ETag, Content-Length) and the Hub's error codes (X-Error-Code RepoNotFound /
RevisionNotFound / EntryNotFound; 401 "Invalid credentials" for an unknown token).

It records every request (method, path, bearer token) so tests can say what reached the Hub.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

SMOLLM2_REPO = "HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
HUB_TOKEN = "hf_localhubtoken000000000000000000"
_CHUNK = 1 << 20
_INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/revision/(?P<rev>[^/]+))?$")
_TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/]+)(?:/.*)?$")
_RESOLVE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


@dataclass(frozen=True)
class HubRepo:
    repo_id: str
    files: dict[str, Path]  # name in the repo -> the local file served
    token: str | None = HUB_TOKEN  # the token that may read it; None: public

    @property
    def commit(self) -> str:
        return hashlib.sha1(self.repo_id.encode()).hexdigest()

    def etag(self, name: str) -> str:
        return hashlib.sha256(f"{self.commit}/{name}".encode()).hexdigest()


@dataclass(frozen=True)
class HubRequest:
    method: str
    path: str
    token: str | None  # the bearer token sent, if any


@dataclass
class LocalHub:
    repos: dict[str, HubRepo]
    url: str = ""
    requests: list[HubRequest] = field(default_factory=list)
    # When set, file bodies stop after `held_after` bytes until the gate opens: a download
    # seen in progress without timing luck.
    held_after: int | None = None
    gate: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, repo_id: str | None = None) -> list[HubRequest]:
        """Requests so far (about `repo_id` only, when given)."""
        with self._lock:
            return [r for r in self.requests if repo_id is None or repo_id in r.path]

    def downloads(self, repo_id: str) -> int:
        """File bodies sent for the repo (GET of /resolve/)."""
        return sum(1 for r in self.seen(repo_id) if r.method == "GET" and "/resolve/" in r.path)

    def record(self, request: HubRequest) -> None:
        with self._lock:
            self.requests.append(request)


@contextmanager
def local_hub(*repos: HubRepo) -> Iterator[LocalHub]:
    """A running hub on a free loopback port serving `repos`; stopped afterwards."""
    hub = LocalHub({r.repo_id: r for r in repos})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    server.daemon_threads = True
    hub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="local-hub", daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        hub.gate.set()  # a held body ends, so its handler thread does too
        server.shutdown()
        server.server_close()


def _handler(hub: LocalHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: tests read hub.requests instead

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def do_GET(self) -> None:
            self._answer(body=True)

        def _answer(self, *, body: bool) -> None:
            path = unquote(urlsplit(self.path).path)
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
            hub.record(HubRequest(self.command, path, token))
            for pattern, answer in ((_TREE, self._tree), (_INFO, self._info)):
                if match := pattern.match(path):
                    repo = self._repo(match["repo"], token)
                    if repo is not None and self._revision(repo, match["rev"] or "main"):
                        answer(repo)
                    return
            if match := _RESOLVE.match(path):
                repo = self._repo(match["repo"], token)
                if repo is not None and self._revision(repo, match["rev"]):
                    self._file(repo, match["file"], body=body)
                return
            self._error(404, {"X-Error-Code": "EntryNotFound"})

        def _repo(self, repo_id: str, token: str | None) -> HubRepo | None:
            repo = hub.repos.get(repo_id)
            if token is not None and token != HUB_TOKEN:
                self._error(401, {"X-Error-Message": "Invalid credentials in Authorization header"})
                return None
            if repo is None:
                self._error(404, {"X-Error-Code": "RepoNotFound"})
                return None
            if repo.token is not None and token != repo.token:
                self._error(401, {"X-Error-Code": "RepoNotFound"})  # the Hub hides private repos
                return None
            return repo

        def _revision(self, repo: HubRepo, revision: str) -> bool:
            if revision in ("main", repo.commit):
                return True
            self._error(404, {"X-Error-Code": "RevisionNotFound"})
            return False

        def _info(self, repo: HubRepo) -> None:
            siblings = [
                {"rfilename": name, "size": path.stat().st_size, "blobId": repo.etag(name)}
                for name, path in repo.files.items()
            ]
            info = {
                "id": repo.repo_id,
                "modelId": repo.repo_id,
                "sha": repo.commit,
                "private": repo.token is not None,
                "siblings": siblings,
            }
            self._json(info)

        def _tree(self, repo: HubRepo) -> None:
            entries = [
                {"type": "file", "path": n, "size": p.stat().st_size, "oid": repo.etag(n)}
                for n, p in repo.files.items()
            ]
            self._json(entries)

        def _file(self, repo: HubRepo, name: str, *, body: bool) -> None:
            local = repo.files.get(name)
            if local is None:
                self._error(404, {"X-Error-Code": "EntryNotFound"})
                return
            size = local.stat().st_size
            start = _range_start(self.headers.get("Range"))
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("ETag", f'"{repo.etag(name)}"')
            self.send_header("Content-Length", str(size - start))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            if not body:
                return
            sent = start
            with local.open("rb") as f:
                f.seek(start)
                while chunk := f.read(_CHUNK):
                    if hub.held_after is not None and sent >= hub.held_after:
                        self.wfile.flush()
                        hub.gate.wait(timeout=60)
                    self.wfile.write(chunk)
                    sent += len(chunk)

        def _json(self, value: object) -> None:
            data = json.dumps(value).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _error(self, status: int, headers: dict[str, str]) -> None:
            data = json.dumps({"error": headers.get("X-Error-Code", "error")}).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return Handler


def _range_start(header: str | None) -> int:
    """The first byte of a `bytes=N-` range (huggingface_hub resumes that way), else 0."""
    match = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(match[1]) if match else 0
