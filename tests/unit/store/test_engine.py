from __future__ import annotations

from pathlib import Path

import pytest

from modelport.store import make_engine


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
