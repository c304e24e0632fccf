"""Vendor ids as an indexed column (issue 11): DeepInfra's deploy_id and Tensormesh's modelId,
kept in each endpoint's spec extension, are copied into endpoints.vendor_id on every write
(store/derived.py), so a lookup by them reads one index entry instead of every endpoint the
dialect made in the project.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from modelport.store.derived import VENDOR_ID_FIELDS, VENDOR_ID_LENGTH, vendor_id_in

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_INDEX = "ix_endpoints_project_id_origin_vendor_id"


def upgrade() -> None:
    # A plain ADD COLUMN (no batch rebuild: that is what lost SQLite's AUTOINCREMENT, 0015).
    op.add_column("endpoints", sa.Column("vendor_id", sa.String(VENDOR_ID_LENGTH), nullable=True))
    _fill()
    op.create_index(_INDEX, "endpoints", ["project_id", "origin", "vendor_id", "id"])


def _fill() -> None:
    """The existing dialect-made endpoints' vendor ids, from their stored specs (raw JSON: the
    spec model of today need not read every spec an older version wrote)."""
    conn = op.get_bind()
    table = sa.table(
        "endpoints",
        sa.column("id", sa.Integer),
        sa.column("spec", sa.Text),
        sa.column("origin", sa.String),
        sa.column("vendor_id", sa.String),
    )
    made = sa.select(table.c.id, table.c.spec, table.c.origin).where(
        table.c.origin.in_(list(VENDOR_ID_FIELDS))
    )
    for row in conn.execute(made).all():
        extensions = json.loads(row.spec).get("extensions") or {}
        value = vendor_id_in(extensions, row.origin)
        if value is not None:
            conn.execute(sa.update(table).where(table.c.id == row.id).values(vendor_id=value))


def downgrade() -> None:
    op.drop_index(_INDEX, "endpoints")
    op.drop_column("endpoints", "vendor_id")  # SQLite >= 3.35 drops it in place
