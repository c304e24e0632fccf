"""Datasets: where async results land (issue 8): a local directory or an fsspec URL.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # StorageKind value
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("options", sa.Text, nullable=False),  # StorageOptions JSON (not secret)
        # StorageCredentials JSON sealed with the server's SecretBox; NULL: none given.
        sa.Column("sealed_credentials", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_datasets"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_datasets_project_id_projects"
        ),
        sa.UniqueConstraint("project_id", "name", name="uq_datasets_project_id_name"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("datasets")
