"""SQLAlchemy engines for the two supported databases, tuned for a small control plane."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 5000


def make_engine(url: str) -> Engine:
    """An engine for `sqlite:///path` or `postgresql[+psycopg]://...`.

    SQLite gets WAL (readers never block the writer), a busy timeout (writers from several
    threads or processes wait instead of failing) and enforced foreign keys (cascading deletes).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        # Plain `postgresql://` would pick psycopg2, which we do not ship.
        return create_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True)
    raise ValueError(f"database_url: unsupported database {backend!r} (use sqlite or postgresql)")


def _sqlite_engine(url: str) -> Engine:
    in_memory = make_url(url).database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        # Every connection to :memory: is a new empty database; share the one connection.
        kwargs["poolclass"] = StaticPool
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return engine
