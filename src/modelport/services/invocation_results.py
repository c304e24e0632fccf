"""The result file of an invocation, `api/is-{endpoint_id}/response/{id}.json` in a dataset:
written by invocations/workers.py, read by the API.

Write-once: a worker writes it only if no file is there yet, and one that finds a file (its
predecessor died between writing and marking the row) marks the row from that file instead of
calling the replica again. So each id has exactly one result, the first answer, even under
at-least-once delivery. Bodies that are JSON are embedded as JSON; others as text, or base64
when not UTF-8.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from modelport.domain.invocations import Invocation, InvocationStatus
from modelport.domain.records import Endpoint


class ResultStore(Protocol):
    """What workers need of a dataset's storage (datasets/storage.ResultStorage has it)."""

    def write(self, key: str, data: bytes) -> str: ...  # the location

    def read(self, key: str) -> bytes | None: ...


# The store an endpoint's results go to: its async_config's dataset, or the project's default.
ResultStores = Callable[[Endpoint], ResultStore]


@dataclass(frozen=True, slots=True)
class Answer:
    """What the replica answered."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def final_status(response_status: int) -> InvocationStatus:
    """A 2xx/3xx answer completes the invocation; a 4xx (the request's own fault) fails it."""
    return InvocationStatus.COMPLETED if response_status < 400 else InvocationStatus.FAILED


def result_document(invocation: Invocation, answer: Answer, finished_at: datetime) -> bytes:
    started = invocation.started_at or finished_at
    document = {
        "id": invocation.id,
        "endpoint_id": invocation.endpoint_id,
        "status": final_status(answer.status).value,
        "request": {
            "method": invocation.method,
            "path": invocation.path,
            "headers": dict(invocation.headers),
            **_body(invocation.body),
        },
        "response": {
            "status": answer.status,
            "headers": dict(answer.headers),
            **_body(answer.body),
        },
        "timings": {
            "created_at": invocation.created_at.isoformat(),
            "started_at": started.isoformat(),
            "finished_at": finished_at.isoformat(),
            "queued_seconds": round((started - invocation.created_at).total_seconds(), 6),
            "total_seconds": round((finished_at - invocation.created_at).total_seconds(), 6),
            "attempts": invocation.attempts,
        },
    }
    return json.dumps(document, indent=1).encode()


def response_status_of(document: bytes) -> int:
    """The replica's status recorded in a result file (ValueError if it is not one)."""
    try:
        status = json.loads(document)["response"]["status"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("not a result document") from exc
    if not isinstance(status, int):
        raise ValueError("not a result document")
    return status


def response_body(document: bytes) -> Any:
    """The response body a result file holds (JSON value, text, or base64 text)."""
    response = json.loads(document)["response"]
    for key in ("body", "body_text", "body_base64"):
        if key in response:
            return response[key]
    return None


def _body(data: bytes) -> dict[str, Any]:
    if not data:
        return {"body": None}
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return {"body_base64": base64.b64encode(data).decode("ascii")}
    try:
        return {"body": json.loads(text)}
    except ValueError:
        return {"body_text": text}
