"""GET /readyz: a load balancer's check (docs/deploy.md). It answers 200 while the server's
database answers and 503 once it does not (a server cut off from a shared PostgreSQL leaves the
pool), with no token and without saying where the database is."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

from fastapi.testclient import TestClient

from modelport.api.app import ApiServices, create_app
from modelport.catalog import PlanCatalog
from modelport.settings import Settings
from modelport.store.engine import make_engine
from modelport.store.repositories import SqlStore
from tests.unit.services.harness import make_world


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ready_while_the_database_answers_then_503_without_secrets(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home")
    services = ApiServices(
        world.endpoints, world.tokens, world.projects, PlanCatalog.load(), "http://x"
    )
    services = dataclasses.replace(services, readiness=world.store.ping)
    with TestClient(create_app(services, world.authenticator, settings)) as client:
        assert client.get("/readyz").json() == {"status": "ok"}
    # A PostgreSQL nobody listens on: the real driver fails to connect.
    url = f"postgresql+psycopg://modelport:s3cret-pw@127.0.0.1:{_closed_port()}/modelport"
    gone = SqlStore(make_engine(url))
    services = dataclasses.replace(services, readiness=gone.ping)
    with TestClient(create_app(services, world.authenticator, settings)) as client:
        resp = client.get("/readyz")
        assert resp.status_code == 503
        assert resp.json()["status"].startswith("unavailable")
        assert "s3cret" not in resp.text and "127.0.0.1" not in resp.text
        assert client.get("/healthz").status_code == 200  # the process itself still lives
    gone.close()
    world.store.close()
