"""What the attack tests share: a real server with a model directory, the teams (projects and
their tokens) they attack from, and the bounds of every fuzz run."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
from hypothesis import HealthCheck, settings

from tests.support.server import ServerProcess, serving


def bounded(examples: int) -> settings:
    """A fuzz run that is the same every time: a fixed number of examples, derandomized, no
    example database; no deadline and no health checks (the CI machine is shared and slow)."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )


@dataclass(frozen=True)
class Team:
    """A project the server admin created, with a token per role asked for."""

    project_id: int
    admin: str  # the project admin's token
    tokens: dict[str, str]  # role -> token


@dataclass
class Site:
    """A real server whose MODELPORT_MODEL_DIRS is `models` (holding m.gguf, any member's to
    name), called over HTTP with a bearer token."""

    srv: ServerProcess
    models: Path

    timeout: ClassVar[float] = 30

    @property
    def operator(self) -> str:
        """The server admin's (bootstrap) token."""
        return self.srv.admin_token

    @property
    def gguf(self) -> Path:
        return self.models / "m.gguf"

    def call(self, token: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return httpx.request(
            method, f"{self.srv.base_url}{path}", headers=headers, timeout=self.timeout, **kwargs
        )

    def create(self, token: str, name: str, spec: dict[str, Any]) -> httpx.Response:
        return self.call(token, "POST", "/api/v1/endpoints", json={"name": name, "spec": spec})

    def llama(self, **fields: Any) -> dict[str, Any]:
        """A spec any member may create (its model is in the model dirs), running nothing."""
        spec = {"framework": "llamacpp", "model": {"path": str(self.gguf)}, "replicas": 0}
        return spec | fields

    def endpoint_names(self, token: str) -> list[str]:
        items = self.call(token, "GET", "/api/v1/endpoints").json()["items"]
        return [e["name"] for e in items]

    def team(self, name: str, roles: tuple[str, ...] = ("member",), **limits: int) -> Team:
        """A new project (with these limits, if any) and a token for each of `roles`."""
        made = self.call(self.operator, "POST", "/api/v1/projects", json={"name": name})
        assert made.status_code == 201, made.text
        if limits:
            body = {"limits": limits}
            limited = self.call(self.operator, "PATCH", f"/api/v1/projects/{name}", json=body)
            assert limited.status_code == 200, limited.text
        admin = made.json()["admin_token"]
        tokens = {}
        for role in roles:
            body = {"name": role, "role": role}
            minted = self.call(admin, "POST", "/api/v1/tokens", json=body)
            assert minted.status_code == 201, minted.text
            tokens[role] = minted.json()["token"]
        return Team(made.json()["id"], admin, tokens)


@contextlib.contextmanager
def site_server(prefix: str) -> Iterator[tuple[ServerProcess, Path]]:
    """A started server in a fresh directory, with a model directory holding m.gguf; afterwards
    the server is stopped, its replicas killed and the directory removed."""
    parent = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        models = parent / "models"
        models.mkdir()
        (models / "m.gguf").write_bytes(b"GGUF")
        home = parent / "home"
        home.mkdir()
        with serving(ServerProcess(home, extra_env={"MODELPORT_MODEL_DIRS": str(models)})) as srv:
            yield srv, models
    finally:
        shutil.rmtree(parent, ignore_errors=True)
