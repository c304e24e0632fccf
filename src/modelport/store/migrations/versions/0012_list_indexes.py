"""Indexed lists and change tracking (issue 11): derived endpoint columns (framework, origin,
autoscaled) filled from each stored spec, keyset indexes per project, watermarks on
endpoints.updated_at and replicas.state_changed_at, and deletion tombstones.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from modelport.domain.specs import EndpointSpec
from modelport.store.derived import derived_columns

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ENDPOINT_INDEXES = {
    "ix_endpoints_project_id_id": ["project_id", "id"],
    "ix_endpoints_project_id_desired_state_id": ["project_id", "desired_state", "id"],
    "ix_endpoints_project_id_framework_id": ["project_id", "framework", "id"],
    "ix_endpoints_project_id_origin_id": ["project_id", "origin", "id"],
    "ix_endpoints_updated_at": ["updated_at"],
    "ix_endpoints_autoscaled": ["autoscaled"],
}


def upgrade() -> None:
    with op.batch_alter_table("endpoints") as batch:
        batch.add_column(sa.Column("framework", sa.String(32), nullable=True))
        batch.add_column(sa.Column("origin", sa.String(32), nullable=True))
        batch.add_column(
            sa.Column("autoscaled", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _fill_derived()
    for name, columns in _ENDPOINT_INDEXES.items():
        op.create_index(name, "endpoints", columns)
    op.create_index("ix_replicas_state_changed_at", "replicas", ["state_changed_at"])
    op.create_table(
        "endpoint_deletions",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("endpoint_id", sa.Integer, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_endpoint_deletions"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_endpoint_deletions_deleted_at", "endpoint_deletions", ["deleted_at"])


_DERIVED = ("framework", "origin", "autoscaled")


def _fill_derived() -> None:
    """Every existing endpoint's derived columns, from its stored spec (one pass, at upgrade)."""
    conn = op.get_bind()
    table = sa.table(
        "endpoints",
        sa.column("id", sa.Integer),
        sa.column("spec", sa.Text),
        sa.column("framework", sa.String),
        sa.column("origin", sa.String),
        sa.column("autoscaled", sa.Boolean),
    )
    for row in conn.execute(sa.select(table.c.id, table.c.spec)).all():
        values = derived_columns(EndpointSpec.model_validate_json(row.spec))
        values = {name: values[name] for name in _DERIVED}  # later columns come with later steps
        conn.execute(sa.update(table).where(table.c.id == row.id).values(values))


def downgrade() -> None:
    op.drop_index("ix_endpoint_deletions_deleted_at", "endpoint_deletions")
    op.drop_table("endpoint_deletions")
    op.drop_index("ix_replicas_state_changed_at", "replicas")
    for name in _ENDPOINT_INDEXES:
        op.drop_index(name, "endpoints")
    with op.batch_alter_table("endpoints") as batch:
        batch.drop_column("autoscaled")
        batch.drop_column("origin")
        batch.drop_column("framework")
