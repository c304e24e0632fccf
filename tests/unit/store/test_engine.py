from __future__ import annotations

import multiprocessing
import traceback
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from modelport.store import make_engine

_RACE_ROUNDS = 25
_RACE_OPENERS = 6


def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        with engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            }
    finally:
        engine.dispose()
    assert pragma == {"journal_mode": "wal", "busy_timeout": 5000, "foreign_keys": 1}


@pytest.mark.parametrize(
    "url", ["postgresql://u@db.internal/modelport", "postgresql+psycopg://u@db.internal/modelport"]
)
def test_postgres_urls_use_psycopg_3(url: str) -> None:
    engine = make_engine(url)  # no connection is made until first use
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.url.host == "db.internal"


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        make_engine("mysql://u@h/db")


def _open_and_read(url: str, start: Barrier, errors: Any) -> None:
    """One of several processes opening the same new file at once, then reading from it (a
    reader holds the shared lock that made a concurrent WAL switch fail)."""
    start.wait()
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            for _ in range(30):
                conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar()
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        engine.dispose()
        if mode != "wal":
            errors.put(f"journal_mode is {mode}, not wal")
    except Exception:
        errors.put(traceback.format_exc(limit=3))


def test_concurrent_first_opens_of_a_new_sqlite_file_never_fail(tmp_path: Path) -> None:
    """Switching to WAL takes an exclusive lock without waiting for readers: without a retry,
    one of several processes opening a new file at once got "database is locked"."""
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    for round_ in range(_RACE_ROUNDS):
        url = f"sqlite:///{tmp_path / f'race-{round_}.db'}"
        start = context.Barrier(_RACE_OPENERS)
        openers = [
            context.Process(target=_open_and_read, args=(url, start, errors))
            for _ in range(_RACE_OPENERS)
        ]
        for opener in openers:
            opener.start()
        for opener in openers:
            opener.join()
        assert [opener.exitcode for opener in openers] == [0] * _RACE_OPENERS
        assert errors.empty(), errors.get()
