"""Endpoints: scale_target, the replica count the autoscaler set (issue 8).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        # Kept apart from the spec: an autoscaler decision is not a user's change, so it moves
        # neither generation nor template (no rollout) and never races a patch's CAS.
        batch.add_column(sa.Column("scale_target", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("scaled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("scaled_at")
        batch.drop_column("scale_target")
