"""Alembic environment. Runs on the connection that modelport.store.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from modelport.store.tables import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through modelport.store.migrate.upgrade_to_head")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
)
with context.begin_transaction():
    context.run_migrations()
