"""Every store test runs against SQLite (a temp file) and a real PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.clock import FakeClock
from modelport.domain.records import Endpoint, Project
from modelport.store import SqlStore, open_store
from tests.support.postgres import postgres_server, postgres_url
from tests.unit.store.specs import custom_spec

__all__ = ["postgres_server", "postgres_url"]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'modelport.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> Iterator[SqlStore]:
    opened = open_store(database_url, clock)
    yield opened
    opened.close()


@pytest.fixture
def project(store: SqlStore) -> Project:
    return store.create_project("team-a")


@pytest.fixture
def endpoint(store: SqlStore, project: Project) -> Endpoint:
    spec = custom_spec()
    return store.create_endpoint(project.id, "chat", spec, spec.model_dump_json())
