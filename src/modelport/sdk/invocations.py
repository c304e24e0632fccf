"""Async invocations in the SDK: the gateway submit, and wait_invocation's decisions.

Submitting is a gateway call (`POST /endpoints/{name}/async/{path}` on the server's origin),
answered in the gateway's OpenAI error shape; status, list and cancel are native API calls
(sdk/calls.py). Shared by Client and AsyncClient, which differ only in sending and sleeping.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from modelport.domain.invocations import InvocationStatus
from modelport.schemas.invocations import InvocationPublic
from modelport.sdk.errors import ModelportAPIError, ModelportClientError, error_from_response

IDEMPOTENCY_HEADER = "Idempotency-Key"


class InvocationAccepted(BaseModel):
    """The gateway's 202: the invocation is stored and queued (or was, for a repeated key)."""

    id: str
    request_id: str  # the same id, under TIR's name
    status: InvocationStatus
    result_url: str  # the native API path of the invocation
    response_location: str  # where the result lands in the endpoint's dataset


class InvocationWaitTimeoutError(ModelportClientError, TimeoutError):
    """wait_invocation gave up; `invocation` is the last state seen (still pending)."""

    def __init__(self, message: str, invocation: InvocationPublic) -> None:
        super().__init__(message)
        self.invocation = invocation


@dataclass(frozen=True, slots=True)
class Submission:
    """One gateway POST: relative to the server's base URL."""

    path: str
    content: bytes
    headers: dict[str, str]


def submission(name: str, path: str, body: Any, idempotency_key: str | None = None) -> Submission:
    """`path` is the replica's path, e.g. "v1/chat/completions" (a "?query" is kept); `body`
    is sent as JSON, or as-is when it is bytes."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if idempotency_key is not None:
        headers[IDEMPOTENCY_HEADER] = idempotency_key
    return Submission(
        f"/endpoints/{quote(name, safe='')}/async/{path.lstrip('/')}", content, headers
    )


def accepted(response: httpx.Response) -> InvocationAccepted:
    """The 202's body, or the typed error (its field from the gateway's `param`)."""
    if response.status_code >= 400:
        raise gateway_error(response)
    return InvocationAccepted.model_validate_json(response.content)


def gateway_error(response: httpx.Response) -> ModelportAPIError:
    """error_from_response, plus the field the OpenAI shape names `param`."""
    error = error_from_response(response)
    if error.field is None:
        try:
            param = response.json()["error"]["param"]
        except (ValueError, KeyError, TypeError):
            param = None
        if isinstance(param, str):
            error.field = param
    return error


class InvocationWatch:
    """When wait_invocation stops: a final status, or the deadline."""

    def __init__(self, timeout: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._deadline = monotonic() + timeout
        self.timeout = timeout

    def done(self, invocation: InvocationPublic) -> bool:
        """True when final; raises InvocationWaitTimeoutError once the deadline has passed."""
        if invocation.status.final:
            return True
        if self._monotonic() >= self._deadline:
            raise InvocationWaitTimeoutError(
                f"invocation {invocation.id} is still {invocation.status.value} after "
                f"{self.timeout:g}s",
                invocation,
            )
        return False

    def sleep_for(self, poll: float) -> float:
        """Never sleeps past the deadline (plus a hair, so the next poll sees it passed)."""
        return max(0.0, min(poll, self._deadline - self._monotonic())) + 0.001
