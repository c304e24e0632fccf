"""Ids are never reused on SQLite again: earlier batch migrations rebuilt projects, tokens,
endpoints and replicas without AUTOINCREMENT, so a
deleted endpoint's id went to the next one made: a Terraform state, an event cursor or a replica
name could then point at a different object. Each such table is rebuilt with AUTOINCREMENT and
its counter set past every id it ever gave out that is still on record. PostgreSQL sequences
never reuse ids: nothing to do there.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# table -> (table, column) pairs that keep ids of its deleted rows
_REBUILT: dict[str, tuple[tuple[str, str], ...]] = {
    "projects": (),
    "tokens": (),
    "endpoints": (("endpoint_deletions", "endpoint_id"), ("events", "endpoint_id")),
    "replicas": (("events", "replica_id"),),
}


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for table, remembered in _REBUILT.items():
        if "AUTOINCREMENT" in _ddl(conn, table).upper():
            continue
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
        _seed_counter(conn, table, remembered)


def _ddl(conn: sa.Connection, table: str) -> str:
    sql = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"
    return str(conn.execute(sa.text(sql), {"name": table}).scalar_one())


def _seed_counter(conn: sa.Connection, table: str, remembered: tuple[tuple[str, str], ...]) -> None:
    columns = [sa.table(table, sa.column("id")).c.id]
    columns += [sa.table(other, sa.column(column)).c[column] for other, column in remembered]
    top = max(int(conn.execute(sa.select(sa.func.max(c))).scalar() or 0) for c in columns)
    sequence = sa.table("sqlite_sequence", sa.column("name"), sa.column("seq"))
    conn.execute(sa.delete(sequence).where(sequence.c.name == table))
    if top:
        conn.execute(sa.insert(sequence).values(name=table, seq=top))


def downgrade() -> None:
    """Nothing to undo: AUTOINCREMENT is what the tables always declared."""
