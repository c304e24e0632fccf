"""Stored objects as typed records. The store returns these; nothing passes dicts around."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain.decisions import ReplicaReason, reason_text
from modelport.domain.scaling import ScaleChange
from modelport.domain.specs import EndpointSpec, ProbeSpec
from modelport.domain.states import DesiredState, ReplicaState


class Role(StrEnum):
    """What a token may do inside its project."""

    ADMIN = "admin"  # everything, including tokens
    MEMBER = "member"  # create, change and delete endpoints; call them
    VIEWER = "viewer"  # read and call endpoints; no changes

    @property
    def can_mutate(self) -> bool:
        return self is not Role.VIEWER

    @property
    def can_manage_tokens(self) -> bool:
        return self is Role.ADMIN


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProjectLimits(BaseModel):
    """Quotas the server admin sets on a project. None: unlimited."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_endpoints: int | None = Field(default=None, ge=0, le=100_000)
    max_replicas: int | None = Field(default=None, ge=0, le=100_000)  # over all endpoints
    max_gpus: int | None = Field(default=None, ge=0, le=100_000)  # over all replicas
    requests_per_minute: int | None = Field(default=None, ge=1, le=100_000_000)  # per token
    concurrent_requests: int | None = Field(default=None, ge=1, le=1_000_000)  # per token


class Project(_Record):
    id: int
    name: str
    created_at: datetime
    limits: ProjectLimits = ProjectLimits()
    host_access: bool = False  # granted by the server admin: see docs/security.md


class Token(_Record):
    """An API token. Only its SHA-256 hash is stored; the secret is shown once at creation."""

    id: int
    project_id: int
    name: str
    role: Role
    prefix: str  # first characters, to tell tokens apart in listings
    endpoint_id: int | None  # set: the token may only call this endpoint (inference keys)
    created_at: datetime
    revoked: bool = False
    server_admin: bool = False  # the server's operator (the first admin token)


class Endpoint(_Record):
    """An endpoint's desired state.

    `generation` grows on every change of the spec and on restart (the optimistic-concurrency
    counter). `template_generation` is the generation replicas must run: it moves with it only
    when what a replica runs changes (engine, model, args, env, resources, probes) or on restart,
    so scaling or autoscale/async settings do not replace running replicas.
    """

    id: int
    project_id: int
    name: str
    spec: EndpointSpec
    generation: int
    template_generation: int
    desired_state: DesiredState
    created_at: datetime
    updated_at: datetime
    # The autoscaler's count (None until it decides) and when it last moved it. Not part of
    # the spec: a scaling decision moves neither generation (no conflict with a user's patch)
    # nor template (no rollout).
    scale_target: int | None = None
    scaled_at: datetime | None = None

    @property
    def wanted_replicas(self) -> int:
        """How many replicas should run: the spec's count, or with autoscaling on the
        autoscaler's target (before its first decision, the spec's count), within min/max."""
        policy = self.spec.autoscale
        if not policy.enabled:
            return self.spec.replicas
        target = self.spec.replicas if self.scale_target is None else self.scale_target
        return max(policy.min_replicas, min(policy.max_replicas, target))


class ReplicaHandle(_Record):
    """How a runtime finds a replica's process again, even after a control-plane restart."""

    backend: str  # "local", "docker", "ray"
    host: str  # address the engine listens on (loopback or private)
    port: int
    pid: int | None = None
    start_time: int | None = None  # process start time (clock ticks) guards against pid reuse
    container_id: str | None = None
    # The runtime's own name for the replica where it is not a container (the Ray actor's
    # name); handles written before this field carried it in container_id.
    runtime_ref: str | None = None
    node: str | None = None  # the node it runs on where there are several (Ray); None: this host
    log_path: str | None = None
    workdir: str | None = None  # the replica's private directory (removed when it stops)
    uid: int | None = None  # the user it runs as, when not the server's; exec probes run so too
    gid: int | None = None
    # The probes resolved at launch (the spec's or the engine's defaults), so the controller
    # probes what was launched without planning again; None on handles older than this field.
    readiness: ProbeSpec | None = None
    liveness: ProbeSpec | None = None
    # The per-replica key its engine requires, sealed with the server's SecretBox. Excluded from
    # every dump (API answers, logs, events); only the store writes it, via stored_json().
    sealed_key: str | None = Field(default=None, exclude=True, repr=False)

    def stored_json(self) -> str:
        """The handle as the store keeps it: every field, the sealed key included."""
        stored = self.model_dump(mode="json")
        stored["sealed_key"] = self.sealed_key
        return json.dumps(stored)


class Replica(_Record):
    id: int
    endpoint_id: int
    project_id: int
    generation: int
    state: ReplicaState
    handle: ReplicaHandle | None  # None until launched
    restart_count: int
    reason: ReplicaReason | None = None  # None: a row older than the enum, text unknown
    detail: str = ""  # the human side, e.g. "needs 1x H100-80GB; this host has none"
    state_changed_at: datetime  # when its state, or a PENDING replica's reason, last changed
    next_attempt_at: datetime | None  # backoff: do not (re)start before this
    ready_at: datetime | None
    created_at: datetime
    # A user asked for a fresh replica in its place (stored, so a control-plane restart keeps
    # it): the controller treats it like a replica of an older generation and replaces it.
    restart_requested_at: datetime | None = None

    @property
    def state_reason(self) -> str:
        """Reason and detail as one line, for people ("InsufficientCapacity: needs ...")."""
        return reason_text(self.reason, self.detail)

    @property
    def url(self) -> str | None:
        if self.handle is None:
            return None
        return f"http://{self.handle.host}:{self.handle.port}"


class EventLevel(StrEnum):
    """How much an event matters to the user."""

    INFO = "info"  # normal progress
    WARNING = "warning"  # something failed and is being retried
    ERROR = "error"  # needs the user's attention


class Event(_Record):
    id: int
    project_id: int
    endpoint_id: int
    replica_id: int | None
    level: EventLevel
    reason: str  # CamelCase machine-readable reason, e.g. "ReplicaReady", "LivenessFailed"
    message: str
    created_at: datetime
    scale: ScaleChange | None = None  # set on the autoscaler's Scaled events


class LeaseFence(_Record):
    """Proof of holding a lease: a write carrying it lands only while the lease row still has
    this holder and generation (the generation grows whenever the lease changes hands)."""

    name: str
    holder: str
    generation: int
