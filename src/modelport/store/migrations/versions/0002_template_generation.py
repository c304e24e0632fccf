"""Endpoints: template_generation, the generation replicas must run.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(
            sa.Column("template_generation", sa.Integer, nullable=False, server_default="1")
        )
    # Existing replicas run the generation they were launched with; nothing needs to roll.
    op.execute("UPDATE endpoints SET template_generation = generation")


def downgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("template_generation")
