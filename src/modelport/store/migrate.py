"""Bring a database to the newest schema, in code (no alembic.ini on disk)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Arbitrary, fixed key for pg_advisory_xact_lock: serialises concurrent migrators.
_PG_MIGRATION_LOCK_KEY = 0x6D6F64656C706F72  # "modelpor"


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration; a database already at head is left untouched.

    Runs in one transaction under a database-wide lock, so two processes opening the same
    fresh database at once migrate it once: the second waits, then finds nothing to do.
    """
    with engine.connect() as connection:
        _lock_for_migration(connection)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        _check_references(connection)
        connection.commit()
        _restore_foreign_keys(connection)


def _lock_for_migration(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK_KEY})")
    elif connection.dialect.name == "sqlite":
        # A batch migration rebuilds a table (copy, DROP, rename): with foreign keys on, the
        # DROP would cascade-delete every replica, event and invocation of its rows. SQLite's
        # documented procedure: keys off outside the transaction, checked before commit.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        # pysqlite leaves DDL outside transactions; take the write lock explicitly so the
        # whole migration (DDL included) is one transaction that other writers wait for.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _check_references(connection: Connection) -> None:
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        connection.rollback()
        raise RuntimeError(f"migration left rows pointing at nothing: {broken[:5]}")


def _restore_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
