"""One Settings object from MODELPORT_* variables and flags, passed explicitly (no globals)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from modelport.domain.specs import RuntimeKind

_ROOT_MODEL_STORE = Path("/var/lib/modelport/models")
_ROOT_MODEL_OBJECTS = Path("/var/lib/modelport/model-objects")
_ROOT_MODEL_CACHE = Path("/var/lib/modelport/cache")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MODELPORT_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".modelport")
    host: str = "127.0.0.1"
    port: int = 8080
    # The URL clients reach this server's gateway by (a load balancer in front of several
    # servers, a TLS terminator): endpoint URLs are built from it. None: this server's address.
    public_url: str | None = None
    database_url: str | None = None  # None: SQLite in $MODELPORT_HOME/modelport.db
    secret_key: str | None = None  # None: key file $MODELPORT_HOME/secret.key (created once)
    # Where replicas run when a spec names no runtime, and every runtime this server enables
    # (comma-separated: "local,docker"); the default is always enabled. docs/runtimes.md
    runtime: RuntimeKind = RuntimeKind.LOCAL
    runtimes: str = "local"
    docker_host: str | None = None  # None: $DOCKER_HOST or unix:///var/run/docker.sock
    # The Ray cluster of runtime `ray` (docs/runtimes.md): "auto", "ray://head:10001" or
    # "head:6379"; None with ray_start_local: a local head of this server's own (development).
    ray_address: str | None = None
    ray_start_local: bool = False
    ray_namespace: str | None = None  # None: "modelport-<install id>", one per server home
    # On each Ray node: the replicas' log files and private directories. None: the node's
    # temporary directory /modelport-ray.
    ray_node_dir: Path | None = None
    engine_host: str = "127.0.0.1"  # engines listen here only; the gateway is the way in
    reconcile_interval: float = 1.0  # seconds between controller ticks
    route_refresh_interval: float = 0.25  # seconds between gateway route-table refreshes
    # Slow full passes (issue 11): between them the controller and the route table read only
    # what changed (controller/selection.py, gateway/routes.py).
    controller_resync_interval: float = 60.0
    route_resync_interval: float = 60.0
    # Seconds between readiness attempts of a STARTING replica, on their own, not per tick:
    # a replica able to answer is seen READY this soon (controller/probes.py).
    startup_probe_interval: float = Field(default=0.1, gt=0, le=60)
    drain_seconds: float = 30.0  # longest a draining replica keeps serving in-flight requests
    stop_grace_seconds: float = 10.0  # SIGTERM -> SIGKILL
    max_body_bytes: int = 8 * 1024 * 1024  # API request bodies larger than this get 413
    # Edge limits on every client connection (server/edge.py).
    header_timeout: float = 10.0  # seconds to send a whole request head, else 408
    body_timeout: float = 60.0  # seconds to send a whole request body after its head
    keep_alive_timeout: float = 5.0  # an idle keep-alive connection is closed after this
    max_connections: int = Field(default=0, ge=0)  # 0: from the open-files limit (ulimit -n)
    max_header_bytes: int = 64 * 1024  # request line plus header fields, else 431
    max_headers: int = 100  # header fields per request, else 431
    max_json_depth: int = 64  # deeper JSON request bodies get 400 (API and gateway)
    backoff_initial: float = 1.0  # first crash-restart delay, doubled each time
    backoff_max: float = 60.0  # cap on the crash-restart delay
    upstream_timeout: float = 600.0  # seconds a proxied request may take
    # Longest the gateway holds a request for an endpoint with no READY replica (e.g. scaled to
    # zero) while one starts; then 503 with Retry-After (gateway/hold.py).
    hold_timeout: float = Field(default=300.0, gt=0)
    # Async invocations (docs/async.md): queued work older than the TTL expires (SageMaker's 6 h);
    # a full per-endpoint queue answers 429; replica errors are retried up to max_attempts; a
    # worker's lease on a row lapses (the row is claimable again) unless renewed in time.
    async_ttl_seconds: float = Field(default=6 * 3600.0, gt=0)
    async_queue_limit: int = Field(default=1000, ge=1)
    async_max_attempts: int = Field(default=3, ge=1)
    async_lease_seconds: float = Field(default=30.0, gt=0)
    # Gateway requests served straight from the HTTP protocol, skipping the ASGI cycle
    # (server/fast_protocol.py); False serves them through the ASGI dispatcher instead.
    gateway_fast_path: bool = True
    # Processes accepting on the port (SO_REUSEPORT), each serving gateway and API paths; the
    # first also runs the controller (server/workers.py). 0 (the default): one per core, at most 8.
    gateway_workers: int = Field(default=0, ge=0, le=64)
    startup_timeout: float = 600.0  # a replica not ready this long after launch is replaced
    plans_file: Path | None = None  # None: the plan catalog shipped with Modelport
    # Where each replica gets its private working directory (never inside the server home).
    # None: /var/lib/modelport/replicas when the server runs as root, else a per-user cache dir.
    replica_dir: Path | None = None
    # Who replicas run as: "auto" (as root, each replica its own uid from 2000000-2999999;
    # otherwise the server's user), a uid range "A-B", a user name or uid (all replicas as it),
    # or "server" (the server's own user: no isolation from the server). See docs/security.md.
    replica_user: str = "auto"
    # The model store: files in it are allowed to every member as model paths. It lives
    # outside the home (0700) so that replicas, which run as other users when the server runs
    # as root, can read it. None: /var/lib/modelport/models as root, else $MODELPORT_HOME/models.
    model_store: Path | None = None
    # Directories (os.pathsep-separated) whose files any member may name as model paths, on
    # top of the model store; anything else needs host access.
    model_dirs: str = ""
    # Where fetched model files are cached by content (Hugging Face downloads, model-repository
    # copies), shared by every replica of every endpoint on this host (models/cache.py). Like
    # the model store it lives outside the home so replicas running as other users can read it.
    # None: /var/lib/modelport/cache as root, else $MODELPORT_HOME/cache.
    model_cache: Path | None = None
    # The Hugging Face Hub that hf_id sources download from (a mirror, or a test server).
    hf_endpoint: str = "https://huggingface.co"
    # The model repository's object store (docs/models.md): an fsspec URL such as
    # s3://bucket/prefix, or a directory. None: /var/lib/modelport/model-objects as root, else
    # $MODELPORT_HOME/model-objects. Not inside model_store: any member may name files there
    # as model paths, and an uploaded model is its project's alone.
    model_objects_url: str | None = None
    # fsspec options for that URL as JSON, e.g. {"endpoint_url": ..., "key": ..., "secret": ...}.
    model_objects_options: dict[str, Any] = Field(default_factory=dict, repr=False)
    model_max_file_bytes: int = Field(default=64 * 2**30, ge=0)  # per uploaded file, else 413
    model_max_bytes: int = Field(default=256 * 2**30, ge=0)  # per model (all its files)
    log_level: str = "info"

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"MODELPORT_PUBLIC_URL: {value!r} is not an http(s) URL")
        return None if value is None else value.rstrip("/")

    @field_validator("runtimes")
    @classmethod
    def _known_runtimes(cls, value: str) -> str:
        for name in _split(value):
            RuntimeKind(name)  # ValueError names the unknown one
        return value

    @property
    def enabled_runtimes(self) -> tuple[RuntimeKind, ...]:
        """The runtimes this server builds, the default first."""
        named = [RuntimeKind(n) for n in _split(self.runtimes)]
        return tuple(dict.fromkeys([self.runtime, *named]))

    @property
    def effective_gateway_workers(self) -> int:
        return self.gateway_workers or min(8, len(os.sched_getaffinity(0)))

    @property
    def sqlite_path(self) -> Path:
        return self.home / "modelport.db"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def models_dir(self) -> Path:
        """The model store: model paths inside it are allowed to every member."""
        if self.model_store is not None:
            return self.model_store
        return _ROOT_MODEL_STORE if os.geteuid() == 0 else self.home / "models"

    @property
    def model_cache_dir(self) -> Path:
        if self.model_cache is not None:
            return self.model_cache
        return _ROOT_MODEL_CACHE if os.geteuid() == 0 else self.home / "cache"

    @property
    def model_objects_dir(self) -> Path:
        """The model repository's directory when model_objects_url names no fsspec URL."""
        if self.model_objects_url is not None and "://" not in self.model_objects_url:
            return Path(self.model_objects_url)
        return _ROOT_MODEL_OBJECTS if os.geteuid() == 0 else self.home / "model-objects"

    @property
    def model_dir_paths(self) -> tuple[Path, ...]:
        return tuple(Path(p).expanduser() for p in self.model_dirs.split(os.pathsep) if p)

    @property
    def ray_node_path(self) -> Path:
        return self.ray_node_dir or Path(tempfile.gettempdir()) / "modelport-ray"

    @property
    def admin_token_path(self) -> Path:
        return self.home / "admin-token"

    @property
    def secret_key_path(self) -> Path:
        return self.home / "secret.key"

    def ensure_home(self) -> None:
        """Create the home; it and its logs are the server's alone (replicas run as other
        users and must not read the database, keys or other replicas' logs)."""
        for directory in (self.home, self.logs_dir):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            directory.chmod(0o700)  # also when it existed already with a looser mode
        if not self.models_dir.is_relative_to(self.home):
            # Readable by replicas (other users); writable by the operator only.
            self.models_dir.mkdir(parents=True, exist_ok=True, mode=0o755)


def _split(names: str) -> list[str]:
    return [n.strip().lower() for n in names.split(",") if n.strip()]
