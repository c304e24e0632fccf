"""The model repository (issue 9): models, their finished files, uploads in progress.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "models",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),  # ModelStatus value
        sa.Column("content_key", sa.String(64), nullable=True),  # set when READY
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_models"),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name="fk_models_project_id_projects"
        ),
        sa.UniqueConstraint("project_id", "name", name="uq_models_project_id_name"),
        sqlite_autoincrement=True,
    )
    for table, extra in (
        ("model_files", [sa.Column("size", sa.BigInteger, nullable=False)]),
        (
            "model_uploads",
            [
                sa.Column("total_size", sa.BigInteger, nullable=False),
                sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            ],
        ),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.Integer, nullable=False),
            sa.Column("model_id", sa.Integer, nullable=False),
            sa.Column("path", sa.Text, nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False),
            *extra,
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["model_id"], ["models.id"], name=f"fk_{table}_model_id_models"
            ),
            sa.UniqueConstraint("model_id", "path", name=f"uq_{table}_model_id_path"),
            sqlite_autoincrement=True,
        )


def downgrade() -> None:
    op.drop_table("model_uploads")
    op.drop_table("model_files")
    op.drop_table("models")
