"""Async invocations: a request queued durably, worked by a leased worker, its answer a file.

Lifecycle (the store moves rows only along these arrows, each a compare-and-set):

    QUEUED ──claim──► IN_PROGRESS ──finish──► COMPLETED | FAILED
      │  ▲                │
      │  └─retry / lease lapses (worker or server died: claimable again, at-least-once)
      ├──cancel──► CANCELED
      └──TTL passes while queued──► EXPIRED
"""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class InvocationStatus(StrEnum):
    """Where an async invocation is."""

    QUEUED = "queued"  # accepted and stored; waiting for a worker (and a READY replica)
    IN_PROGRESS = "in_progress"  # a worker holds its lease and is calling a replica
    COMPLETED = "completed"  # the replica answered 2xx/3xx; the result file is written
    FAILED = "failed"  # a final error: the engine's 4xx (answer kept) or retries used up
    CANCELED = "canceled"  # canceled by a user while still queued
    EXPIRED = "expired"  # queued longer than its TTL; never sent to a replica

    @property
    def final(self) -> bool:
        return self not in _PENDING


_PENDING = frozenset({InvocationStatus.QUEUED, InvocationStatus.IN_PROGRESS})
PENDING_STATUSES = _PENDING  # what the backlog counts: still to be done


def new_invocation_id() -> str:
    """Random and URL-safe: ids appear in result file names and URLs and must not be guessed."""
    return "inv-" + secrets.token_urlsafe(16)


def result_key(endpoint_id: int, invocation_id: str) -> str:
    """Where the result lands in the endpoint's dataset (TIR's response_location shape)."""
    return f"api/is-{endpoint_id}/response/{invocation_id}.json"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class NewInvocation(_Record):
    """What intake stores: the request as it will be replayed to a replica."""

    project_id: int
    endpoint_id: int
    method: str
    path: str  # percent-encoded path plus "?query", as the replica gets it
    body: bytes = Field(repr=False)  # may hold user data: never logged
    headers: tuple[tuple[str, str], ...] = ()  # the gateway's forwarding allowlist only
    idempotency_key: str | None = None


class Invocation(_Record):
    id: str
    project_id: int
    endpoint_id: int
    status: InvocationStatus
    method: str
    path: str
    body: bytes = Field(repr=False)
    headers: tuple[tuple[str, str], ...]
    idempotency_key: str | None
    attempts: int  # claims so far (a claim that met no READY replica gives its attempt back)
    created_at: datetime
    expires_at: datetime  # still queued at this time: EXPIRED
    started_at: datetime | None  # first claim
    finished_at: datetime | None
    available_at: datetime | None  # a retry waits until then (None: at once)
    lease_owner: str | None  # the worker holding it while IN_PROGRESS
    lease_expires_at: datetime | None  # past this the lease lapses and anyone may claim it
    response_status: int | None  # the replica's status, once answered
    result_location: str | None  # where the result file is, once written
    error: str | None  # why it failed (or why the last attempt failed)

    @property
    def result_key(self) -> str:
        return result_key(self.endpoint_id, self.id)


class InvocationPage(_Record):
    items: tuple[Invocation, ...]
    total: int  # rows matching the filters, for page counts (TIR lists by page)
