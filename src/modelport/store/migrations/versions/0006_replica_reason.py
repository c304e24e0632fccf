"""Replicas: the state reason as an enum value plus a human detail (issue 8).

`state_reason` held "Reason: detail" and was parsed back by its readers; it becomes `reason`
(a ReplicaReason value, NULL when an old text named no known reason) and `detail`.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# ReplicaReason's values when this migration was written (a migration must not follow the
# enum as it changes later).
_KNOWN = frozenset(
    {
        "ReplicaCreated",
        "ReplicaStarting",
        "ReplicaReady",
        "ReplicaNotReady",
        "ReplicaCrashed",
        "LivenessFailed",
        "StartupTimeout",
        "RestartScheduled",
        "ReplicaDraining",
        "ReplicaStopping",
        "ReplicaStopped",
        "InsufficientCapacity",
        "EngineUnavailable",
        "InvalidSpec",
        "LaunchFailed",
        "LaunchDeferred",
    }
)
_CREATED = "created"  # what a new replica's state_reason said before this migration

_replicas = sa.table(
    "replicas",
    sa.column("id", sa.Integer),
    sa.column("state_reason", sa.Text),
    sa.column("reason", sa.String),
    sa.column("detail", sa.Text),
)


def split(text: str) -> tuple[str | None, str]:
    """("InsufficientCapacity", "needs ...") from "InsufficientCapacity: needs ..."; the whole
    text as detail when it starts with no known reason."""
    if text == _CREATED:
        return "ReplicaCreated", ""
    head, sep, rest = text.partition(": ")
    if sep and head in _KNOWN:
        return head, rest
    if text in _KNOWN:
        return text, ""
    return None, text


def join(reason: str | None, detail: str) -> str:
    if reason is None:
        return detail
    return f"{reason}: {detail}" if detail else reason


def upgrade() -> None:
    with op.batch_alter_table("replicas") as batch:
        batch.add_column(sa.Column("reason", sa.String(32), nullable=True))
        batch.add_column(sa.Column("detail", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.select(_replicas.c.id, _replicas.c.state_reason)).all()
    for replica_id, text in rows:
        reason, detail = split(text or "")
        bind.execute(
            _replicas.update()
            .where(_replicas.c.id == replica_id)
            .values(reason=reason, detail=detail)
        )
    with op.batch_alter_table("replicas") as batch:
        batch.alter_column("detail", server_default=None)
        batch.drop_column("state_reason")


def downgrade() -> None:
    with op.batch_alter_table("replicas") as batch:
        batch.add_column(sa.Column("state_reason", sa.Text(), nullable=False, server_default=""))
    bind = op.get_bind()
    rows = bind.execute(sa.select(_replicas.c.id, _replicas.c.reason, _replicas.c.detail)).all()
    for replica_id, reason, detail in rows:
        bind.execute(
            _replicas.update()
            .where(_replicas.c.id == replica_id)
            .values(state_reason=join(reason, detail))
        )
    with op.batch_alter_table("replicas") as batch:
        batch.alter_column("state_reason", server_default=None)
        batch.drop_column("detail")
        batch.drop_column("reason")
