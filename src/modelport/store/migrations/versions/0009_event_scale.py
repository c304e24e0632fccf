"""Events: scale, the autoscaler's decision as data (reason, from, to, detail) on its events.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        # ScaleChange JSON: readers take the decision from here, never by parsing the message.
        batch.add_column(sa.Column("scale", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("scale")
