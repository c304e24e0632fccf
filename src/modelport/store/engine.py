"""SQLAlchemy engines for the two supported databases, tuned for a small control plane."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

SQLITE_BUSY_TIMEOUT_MS = 5000
_WAL_RETRY_PAUSE_S = 0.01


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
            # The busy timeout first, so everything after it waits for a lock instead of failing.
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                _enable_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    return engine


def _enable_wal(cursor: Any) -> None:
    """Switch a file database to WAL (it stays WAL: later opens find it so and do nothing).

    Switching needs an exclusive lock, and SQLite answers "database is locked" at once,
    without calling the busy handler, when another connection is opening or switching the
    same new file at that moment. Such a race ends within milliseconds, so try again until
    the busy timeout has passed.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(_WAL_RETRY_PAUSE_S)  # not synchronisation: a bounded retry of a lock race
