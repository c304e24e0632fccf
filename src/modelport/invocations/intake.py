"""The gateway's async intake (`gateway.async_hook.AsyncIntake`): store the request, answer 202.

The invocation is in the store before the answer leaves, so an accepted request survives any
crash after it. One answer shape serves both ways in: the native URL's `{id, status,
result_url}` and TIR's `request_id` and `response_location` (docs/async.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from modelport.domain.errors import Conflict, InvalidSpec, NotFound, QuotaExceeded
from modelport.domain.invocations import Invocation
from modelport.gateway.async_hook import IntakeAnswer
from modelport.gateway.headers import FORWARDED
from modelport.gateway.routes import EndpointRoute
from modelport.services.auth import Principal
from modelport.services.invocations import AsyncRequest, InvocationService

IDEMPOTENCY_HEADER = "idempotency-key"
_KEPT = frozenset(name.decode() for name in FORWARDED)


def invocation_url(endpoint_name: str, invocation_id: str) -> str:
    return f"/api/v1/endpoints/{endpoint_name}/invocations/{invocation_id}"


def accepted_body(endpoint_name: str, invocation: Invocation) -> dict[str, object]:
    return {
        "id": invocation.id,
        "request_id": invocation.id,  # TIR's name for it
        "status": invocation.status.value,
        "result_url": invocation_url(endpoint_name, invocation.id),
        "response_location": invocation.result_key,
    }


class Intake:
    def __init__(self, service: InvocationService, wake: Callable[[], None]) -> None:
        """`wake`: tells the workers there is new work (they also poll)."""
        self._service = service
        self._wake = wake

    async def submit(
        self,
        principal: Principal,
        route: EndpointRoute,
        method: str,
        path: str,
        body: bytes,
        headers: tuple[tuple[str, str], ...],
        request_id: str,
    ) -> IntakeAnswer:
        keys = [value for name, value in headers if name == IDEMPOTENCY_HEADER]
        if len(keys) > 1:
            return _error(400, "send one Idempotency-Key header, not several", "Idempotency-Key")
        request = AsyncRequest(
            method=method,
            path=path,
            body=body,
            # What a live request would forward; the gateway adds X-Request-Id when replayed.
            headers=tuple(h for h in headers if h[0] in _KEPT or h[0].startswith("openai-")),
            idempotency_key=keys[0] if keys else None,
        )
        try:
            endpoint, invocation, created = await asyncio.to_thread(
                self._service.submit, principal, route.endpoint_id, request
            )
        except QuotaExceeded as exc:
            retry = (b"retry-after", b"%d" % max(1, round(exc.retry_after)))
            return _error(429, exc.message, exc.field, "queue_full", (retry,))
        except Conflict as exc:
            return _error(409, exc.message, exc.field, "async_disabled")
        except InvalidSpec as exc:
            return _error(400, exc.message, exc.field)
        except NotFound as exc:
            return _error(404, exc.message, exc.field, "not_found")
        if created:
            self._wake()
        answer = accepted_body(endpoint.name, invocation)
        location = (b"location", str(answer["result_url"]).encode())
        # 202 for new work; the same 202 body for a repeated Idempotency-Key (it was accepted).
        return IntakeAnswer(202, answer, (location,))


def _error(
    status: int,
    message: str,
    field: str | None,
    code: str = "invalid_request",
    headers: tuple[tuple[bytes, bytes], ...] = (),
) -> IntakeAnswer:
    """The gateway's OpenAI error shape, with the field named."""
    error = {"message": message, "type": "invalid_request_error", "code": code, "param": field}
    return IntakeAnswer(status, {"error": error}, headers)
