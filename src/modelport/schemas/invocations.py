"""Async invocations in the native API (/api/v1/endpoints/{name}/invocations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from modelport.domain.invocations import Invocation, InvocationStatus

INVOCATION_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class InvocationPublic(BaseModel):
    id: str
    endpoint: str  # the endpoint's name
    status: InvocationStatus
    method: str
    path: str
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime  # still queued then: expired
    response_status: int | None  # the replica's answer, once there is one
    error: str | None
    result_key: str  # api/is-{endpoint_id}/response/{id}.json in the endpoint's dataset
    result_location: str | None  # where it was written (path or URL), once written
    # The replica's response body from the result file (JSON, or text); on the one-item read.
    result: Any | None = None

    @classmethod
    def of(
        cls, endpoint: str, invocation: Invocation, result: Any | None = None
    ) -> InvocationPublic:
        return cls(
            id=invocation.id,
            endpoint=endpoint,
            status=invocation.status,
            method=invocation.method,
            path=invocation.path,
            attempts=invocation.attempts,
            created_at=invocation.created_at,
            started_at=invocation.started_at,
            finished_at=invocation.finished_at,
            expires_at=invocation.expires_at,
            response_status=invocation.response_status,
            error=invocation.error,
            result_key=invocation.result_key,
            result_location=invocation.result_location,
            result=result,
        )


class InvocationList(BaseModel):
    items: list[InvocationPublic]
    total: int  # matching the filters, over all pages
