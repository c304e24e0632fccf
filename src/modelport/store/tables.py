"""The schema as SQLAlchemy Core tables. Migrations create it; repositories query it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

from modelport.store.derived import VENDOR_ID_LENGTH


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out. SQLite keeps no zone, so UTC is re-attached on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        # SQLite compares timestamps as text: one zone and one format keep that ordering right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# sqlite_autoincrement: ids are never reused after a delete (event cursors, replica names).
projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(63), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("limits", Text, nullable=True),  # ProjectLimits JSON; None: the defaults
    # Granted by the server admin only: spec content that runs or reads things on the host.
    Column("host_access", Boolean, nullable=False, default=False),
    sqlite_autoincrement=True,
)

endpoints = Table(
    "endpoints",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(63), nullable=False),
    Column("spec", Text, nullable=False),  # EndpointSpec JSON, secret values encrypted
    Column("generation", Integer, nullable=False),
    Column("template_generation", Integer, nullable=False),
    Column("desired_state", String(16), nullable=False),  # DesiredState value
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The autoscaler's replica count (None: not set yet) and when it last changed it.
    Column("scale_target", Integer, nullable=True),
    Column("scaled_at", UtcDateTime, nullable=True),
    # Derived from the spec on every write (store/derived.py), so lists filter on an index.
    Column("framework", String(32), nullable=True),  # Framework value
    Column("origin", String(32), nullable=True),  # the dialect that made it (extensions key)
    Column("autoscaled", Boolean, nullable=False, default=False),
    Column("vendor_id", String(VENDOR_ID_LENGTH), nullable=True),  # deploy_id / modelId
    UniqueConstraint("project_id", "name"),
    # Keyset pages (id after a cursor) per project, optionally narrowed on one column.
    Index("ix_endpoints_project_id_id", "project_id", "id"),
    Index("ix_endpoints_project_id_desired_state_id", "project_id", "desired_state", "id"),
    Index("ix_endpoints_project_id_framework_id", "project_id", "framework", "id"),
    Index("ix_endpoints_project_id_origin_id", "project_id", "origin", "id"),
    # A dialect's lookup by the id its clients use (migration 0017).
    Index("ix_endpoints_project_id_origin_vendor_id", "project_id", "origin", "vendor_id", "id"),
    # What changed since a watermark (controller, route table), and who the autoscaler watches.
    Index("ix_endpoints_updated_at", "updated_at"),
    Index("ix_endpoints_autoscaled", "autoscaled"),
    sqlite_autoincrement=True,
)

# Endpoints removed, kept a while so that an incremental route refresh sees the deletion.
endpoint_deletions = Table(
    "endpoint_deletions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("endpoint_id", Integer, nullable=False),
    Column("project_id", Integer, nullable=False),
    Column("deleted_at", UtcDateTime, nullable=False, index=True),
    sqlite_autoincrement=True,
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False),  # sha256 hex of the secret
    Column("prefix", String(32), nullable=False),
    Column("role", String(16), nullable=False),  # Role value
    # An endpoint-scoped key dies with its endpoint: it must never widen to the whole project.
    Column("endpoint_id", Integer, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=True),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    # The server's operator: creates projects, sets limits, grants host access.
    Column("server_admin", Boolean, nullable=False, default=False),
    Index("ix_tokens_token_hash", "token_hash", unique=True),
    sqlite_autoincrement=True,
)

replicas = Table(
    "replicas",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "endpoint_id",
        Integer,
        ForeignKey("endpoints.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("project_id", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("state", String(16), nullable=False, index=True),  # ReplicaState value
    Column("handle", Text, nullable=True),  # ReplicaHandle JSON once launched
    Column("restart_count", Integer, nullable=False, default=0),
    Column("reason", String(32), nullable=True),  # ReplicaReason value; NULL: unknown (old row)
    Column("detail", Text, nullable=False, default=""),
    Column("state_changed_at", UtcDateTime, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=True),
    Column("ready_at", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    # A user asked to replace this replica: the controller starts a fresh one, then drains it.
    Column("restart_requested_at", UtcDateTime, nullable=True),
    # Replicas whose state moved since a watermark (the route table's incremental refresh).
    Index("ix_replicas_state_changed_at", "state_changed_at"),
    sqlite_autoincrement=True,
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("endpoint_id", Integer, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("project_id", Integer, nullable=False),
    Column("replica_id", Integer, nullable=True),  # no FK: replicas are deleted, events stay
    Column("level", String(16), nullable=False),  # EventLevel value
    Column("reason", String(100), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("scale", Text, nullable=True),  # ScaleChange JSON on the autoscaler's events
    Index("ix_events_endpoint_id_id", "endpoint_id", "id"),
    sqlite_autoincrement=True,
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    # Fencing token: grows whenever the lease changes hands; writes carry it.
    Column("generation", Integer, nullable=False, default=0),
)

# Async invocations (store/invocations.py): the durable queue; a row is worked under a lease.
invocations = Table(
    "invocations",
    metadata,
    Column("id", String(64), primary_key=True),  # random, url-safe (domain/invocations.py)
    Column("project_id", Integer, nullable=False),
    Column("endpoint_id", Integer, ForeignKey("endpoints.id", ondelete="CASCADE"), nullable=False),
    Column("status", String(16), nullable=False),  # InvocationStatus value
    Column("method", String(16), nullable=False),
    Column("path", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("headers", Text, nullable=False),  # JSON [[name, value], ...]: the allowlist only
    Column("idempotency_key", String(255), nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("available_at", UtcDateTime, nullable=True),  # a retry waits until then
    Column("lease_owner", String(200), nullable=True),
    Column("lease_expires_at", UtcDateTime, nullable=True),
    Column("response_status", Integer, nullable=True),
    Column("result_location", Text, nullable=True),
    Column("error", Text, nullable=True),
    UniqueConstraint("endpoint_id", "idempotency_key"),
    Index("ix_invocations_endpoint_id_status_created_at", "endpoint_id", "status", "created_at"),
    Index("ix_invocations_status_endpoint_id", "status", "endpoint_id"),  # the backlog count
)

# Where a project's async results land (issue 8); credentials sealed with the SecretBox.
datasets = Table(
    "datasets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(63), nullable=False),
    Column("kind", String(16), nullable=False),  # StorageKind value
    Column("url", Text, nullable=False),  # absolute directory (local) or fsspec URL
    Column("options", Text, nullable=False),  # StorageOptions JSON (not secret)
    Column("sealed_credentials", Text, nullable=True),  # StorageCredentials JSON, sealed
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("project_id", "name"),
    sqlite_autoincrement=True,
)
