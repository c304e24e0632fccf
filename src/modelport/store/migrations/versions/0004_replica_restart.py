"""Replicas: restart_requested_at, a user's request to replace one replica.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("replicas") as batch:
        # Set by a restart request; the controller replaces the replica (surge one, then drain
        # it), so the request survives a control-plane restart.
        batch.add_column(
            sa.Column("restart_requested_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("replicas") as batch:
        batch.drop_column("restart_requested_at")
