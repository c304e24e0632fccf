"""Security: lease fencing generation, project limits and host grant, server-admin tokens.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        # Grows each time the lease changes hands: writes carry it, so a deposed holder's
        # late writes are refused (fencing token).
        batch.add_column(sa.Column("generation", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("limits", sa.Text, nullable=True))  # ProjectLimits JSON
        batch.add_column(
            sa.Column("host_access", sa.Boolean, nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(
            sa.Column("server_admin", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_column("server_admin")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("host_access")
        batch.drop_column("limits")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("generation")
