"""Every error the gateway answers before a request reaches a replica, mapped in one table.

A refusal is raised anywhere between the request head and the proxy (parsing, auth, routing,
reading the body) and answered here, in the OpenAI error shape (`{"error": {message, type,
code}}`) or, for DeepInfra's native API, in its 422 field-error shape.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelport.domain.errors import Forbidden, NotFound, Unauthorized
from modelport.gateway import deepinfra_native
from modelport.gateway.downstream import ClientSide
from modelport.gateway.incoming import BadRequest, BodyTooLarge, ClientGone, MethodNotAllowed
from modelport.gateway.metrics import CLIENT_CLOSED
from modelport.gateway.responses import respond_error, respond_json


@dataclass(frozen=True, slots=True)
class Shape:
    status: int
    error_type: str
    code: str | None  # None: the exception's own `code`


# Most specific first: the first row whose exception type matches answers.
TABLE: tuple[tuple[type[Exception], Shape], ...] = (
    (Unauthorized, Shape(401, "authentication_error", "invalid_api_key")),
    (Forbidden, Shape(403, "permission_error", "forbidden")),  # a dashboard change without CSRF
    (NotFound, Shape(404, "invalid_request_error", "not_found")),
    (MethodNotAllowed, Shape(405, "invalid_request_error", None)),
    (BadRequest, Shape(400, "invalid_request_error", None)),
    (BodyTooLarge, Shape(413, "invalid_request_error", "request_too_large")),
)
# What `refuse` answers (or, for ClientGone, records): catch these around routing.
REFUSED: tuple[type[Exception], ...] = (
    *(kind for kind, _ in TABLE),
    ClientGone,
    deepinfra_native.BadInput,
)


async def refuse(client: ClientSide, exc: Exception, request_id: str, max_body: int) -> int:
    """Answer `exc` (one of REFUSED); the status for the metrics (499: nobody to answer)."""
    if isinstance(exc, ClientGone):
        return CLIENT_CLOSED
    if isinstance(exc, deepinfra_native.BadInput):
        await respond_json(client, 422, deepinfra_native.field_error(exc), request_id)
        return 422
    shape = next(shape for kind, shape in TABLE if isinstance(exc, kind))
    await respond_error(
        client, shape.status, _message(exc, max_body), shape.error_type,
        shape.code or str(getattr(exc, "code", "invalid_request")), request_id,
    )  # fmt: skip
    return shape.status


def _message(exc: Exception, max_body: int) -> str:
    if isinstance(exc, BodyTooLarge):
        return f"request body is larger than {max_body} bytes"
    message: str = getattr(exc, "message", None) or str(exc)
    return message
