"""Server loads (issue 11): each server's gateway load, one row per server, for the leader.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_loads",
        sa.Column("server", sa.String(100), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),  # ServerLoad JSON
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("server", name="pk_server_loads"),
    )


def downgrade() -> None:
    op.drop_table("server_loads")
