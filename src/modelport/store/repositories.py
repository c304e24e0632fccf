"""SqlStore: the Store protocol over SQLite or PostgreSQL, one repository per aggregate."""

from __future__ import annotations

from sqlalchemy import Engine, text

from modelport.clock import Clock, SystemClock
from modelport.store.base import Store
from modelport.store.changes import ChangeRepository
from modelport.store.datasets import DatasetRepository
from modelport.store.endpoints import EndpointRepository
from modelport.store.engine import make_engine
from modelport.store.events import EventRepository
from modelport.store.integrations import IntegrationRepository
from modelport.store.invocations import InvocationRepository
from modelport.store.leases import LeaseRepository
from modelport.store.loads import LoadRepository
from modelport.store.migrate import upgrade_to_head
from modelport.store.models import ModelRepository
from modelport.store.projects import ProjectRepository, TokenRepository
from modelport.store.replicas import ReplicaRepository
from modelport.store.usage import UsageRepository


class SqlStore(
    ProjectRepository,
    TokenRepository,
    EndpointRepository,
    ChangeRepository,
    ReplicaRepository,
    EventRepository,
    LeaseRepository,
    LoadRepository,
    DatasetRepository,
    InvocationRepository,
    IntegrationRepository,
    ModelRepository,
    UsageRepository,
    Store,  # explicit, so mypy checks every signature against the protocol
):
    """Thread-safe: every call takes its own pooled connection and transaction.

    `clock` stamps the times the protocol does not pass in (created_at, updated_at).
    """

    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        super().__init__(engine, clock or SystemClock())

    def ping(self) -> None:
        with self._engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def close(self) -> None:
        self._engine.dispose()


def open_store(url: str, clock: Clock | None = None) -> SqlStore:
    """Connect to `url`, migrate the schema to head (a no-op when current), return the store."""
    engine = make_engine(url)
    try:
        upgrade_to_head(engine)
    except BaseException:
        engine.dispose()
        raise
    return SqlStore(engine, clock)
