"""Integrations: a project's named credentials (issue 9), the secret part sealed.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # IntegrationKind value
        sa.Column("fields", sa.Text, nullable=False),  # IntegrationFields JSON (not secret)
        # SecretFields JSON sealed with the server's SecretBox (key outside the database).
        sa.Column("sealed_secret", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_integrations"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_integrations_project_id_projects"
        ),
        sa.UniqueConstraint("project_id", "name", name="uq_integrations_project_id_name"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("integrations")
