"""The async backlog by status first (issue 11): the controller's every-tick count of pending
invocations per endpoint reads only QUEUED / IN_PROGRESS rows instead of walking every
invocation ever kept.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_invocations_status_endpoint_id", "invocations", ["status", "endpoint_id"])


def downgrade() -> None:
    op.drop_index("ix_invocations_status_endpoint_id", table_name="invocations")
