"""Schema families of the native API (/api/v1): Create / Update / Public per object."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelport.domain.decisions import ReplicaReason
from modelport.domain.ids import MAX_ID, validate_name
from modelport.domain.numbers import RequestModel
from modelport.domain.records import EventLevel, ProjectLimits, ReplicaHandle, Role
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState, EndpointPhase, ReplicaState
from modelport.domain.text import Line


class EndpointCreate(RequestModel):
    """POST /api/v1/endpoints. Idempotent: the same name and spec returns the existing endpoint."""

    model_config = ConfigDict(extra="forbid")

    name: str
    spec: EndpointSpec

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return validate_name(v)


class EndpointUpdate(RequestModel):
    """PATCH /api/v1/endpoints/{name}: spec fields to change, merged into the current spec."""

    model_config = ConfigDict(extra="forbid")

    spec: dict[str, Any] = Field(default_factory=dict)
    generation: int | None = Field(default=None, ge=1, le=MAX_ID)  # set: 409 unless current


class ReplicaCounts(BaseModel):
    desired: int
    ready: int
    starting: int
    pending: int
    failed: int
    draining: int


class EndpointPublic(BaseModel):
    id: int
    project_id: int
    name: str
    spec: EndpointSpec  # secret values masked
    generation: int  # grows on every change; send it back to PATCH for compare-and-set
    template_generation: int  # what replicas run; older replicas are being replaced
    desired_state: DesiredState
    phase: EndpointPhase
    replicas: ReplicaCounts
    # The nodes its live replicas run on, by name (Ray); empty when they run on the server's
    # own host.
    nodes: list[str] = Field(default_factory=list)
    url: str  # base URL of the endpoint on the gateway (OpenAI base_url)
    created_at: datetime
    updated_at: datetime


class EndpointCreated(EndpointPublic):
    """Create's answer: also an inference key for this endpoint, shown only this once."""

    api_key: str | None = None


class EndpointList(BaseModel):
    items: list[EndpointPublic]
    # Pass as `cursor` for the next page; None: this was the last page.
    next_cursor: str | None = None


class ReplicaPublic(BaseModel):
    id: int
    endpoint_id: int
    generation: int
    state: ReplicaState
    reason: ReplicaReason | None  # why it is in its state (None: an old record's unknown text)
    detail: str  # the human side of the reason
    state_reason: str  # "Reason: detail" in one line, as before reason/detail existed
    restart_count: int
    handle: ReplicaHandle | None
    state_changed_at: datetime
    ready_at: datetime | None
    created_at: datetime
    # Set when a restart of this replica was asked for: a fresh one replaces it.
    restart_requested_at: datetime | None = None


class ReplicaList(BaseModel):
    items: list[ReplicaPublic]


class EventPublic(BaseModel):
    id: int
    endpoint_id: int
    replica_id: int | None
    level: EventLevel
    reason: str
    message: str
    created_at: datetime


class EventList(BaseModel):
    items: list[EventPublic]


class LogsPublic(BaseModel):
    replica_id: int
    text: str


class LogsList(BaseModel):
    items: list[LogsPublic]


class ActionResult(BaseModel):
    endpoint: EndpointPublic
    message: str


class TokenCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=100)
    role: Role = Role.MEMBER
    endpoint: Line | None = None  # set: an inference key for this endpoint only


class TokenPublic(BaseModel):
    id: int
    project_id: int
    name: str
    role: Role
    prefix: str
    endpoint_id: int | None
    created_at: datetime


class TokenCreated(TokenPublic):
    token: str  # shown once; only its hash is stored


class TokenList(BaseModel):
    items: list[TokenPublic]


class ProjectCreate(RequestModel):
    model_config = ConfigDict(extra="forbid")

    name: str

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return validate_name(v)


class ProjectPublic(BaseModel):
    id: int
    name: str
    created_at: datetime
    limits: ProjectLimits = ProjectLimits()  # quotas; null: unlimited (set by the server admin)
    host_access: bool = False  # may put host-reaching content in specs (docs/security.md)


class ProjectUpdate(RequestModel):
    """PATCH /api/v1/projects/{name} (server admin only). Limits named are changed (null:
    unlimited), the others kept; host_access grants or revokes the host permission."""

    model_config = ConfigDict(extra="forbid")

    limits: ProjectLimits | None = None
    host_access: bool | None = None


class ProjectTokenCreate(RequestModel):
    """POST /api/v1/projects/{name}/tokens (server admin only): a token of that project."""

    model_config = ConfigDict(extra="forbid")

    name: Line = Field(min_length=1, max_length=100)
    role: Role = Role.ADMIN


class ErrorDetail(BaseModel):
    field: str | None
    message: str


class ErrorBody(BaseModel):
    """The native error envelope: {"error": {"type", "message", "field", "details"}}."""

    type: str  # "invalid_request", "not_found", "conflict", "unauthorized", "forbidden", ...
    message: str
    field: str | None = None
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorEnvelope(BaseModel):
    error: ErrorBody
