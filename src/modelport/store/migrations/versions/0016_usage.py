"""Usage metering (issue 12): request counters, latency histograms and gauges per endpoint and
time bucket (10 s and hourly), and replica-seconds with cost per endpoint, hour and plan.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_COUNTERS = ("requests", "errors", "prompt_tokens", "completion_tokens", "estimated")
_LATENCY_BUCKETS = 15  # store/usage.py LATENCY_BOUNDS_MS plus one above the last
_GAUGES = ("in_flight", "replicas_ready", "replicas_desired")


def _zero(name: str, kind: type[sa.Integer] = sa.Integer) -> sa.Column[int]:
    return sa.Column(name, kind, nullable=False, server_default="0")


def upgrade() -> None:
    op.create_table(
        "usage_counts",
        sa.Column("resolution", sa.Integer, nullable=False),
        sa.Column("endpoint_id", sa.Integer, nullable=False),
        sa.Column("bucket", sa.BigInteger, nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(100), nullable=False),
        *(_zero(name, sa.BigInteger) for name in _COUNTERS),
        *(_zero(f"lat_{i}") for i in range(_LATENCY_BUCKETS)),
        *(sa.Column(name, sa.Integer, nullable=True) for name in _GAUGES),
        sa.PrimaryKeyConstraint("resolution", "endpoint_id", "bucket", name="pk_usage_counts"),
    )
    op.create_index(
        "ix_usage_counts_project_id_resolution_bucket",
        "usage_counts",
        ["project_id", "resolution", "bucket"],
    )
    op.create_index("ix_usage_counts_resolution_bucket", "usage_counts", ["resolution", "bucket"])
    op.create_table(
        "usage_plans",
        sa.Column("endpoint_id", sa.Integer, nullable=False),
        sa.Column("bucket", sa.BigInteger, nullable=False),
        sa.Column("plan", sa.String(100), nullable=False),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("endpoint", sa.String(100), nullable=False),
        sa.Column("replica_seconds", sa.Float, nullable=False, server_default="0"),
        sa.Column("cost", sa.Float, nullable=False, server_default="0"),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("endpoint_id", "bucket", "plan", name="pk_usage_plans"),
    )
    op.create_index("ix_usage_plans_project_id_bucket", "usage_plans", ["project_id", "bucket"])


def downgrade() -> None:
    op.drop_table("usage_plans")
    op.drop_table("usage_counts")
