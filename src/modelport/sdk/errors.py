"""Exceptions the SDK raises, and the one mapping from an HTTP error response to them."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from pydantic import ValidationError as PydanticValidationError

from modelport.schemas.native import EndpointPublic, ErrorDetail, ErrorEnvelope, EventPublic

_MAX_TEXT = 300  # characters of a non-JSON error body kept in the message


class ModelportClientError(Exception):
    """Base of everything the SDK raises on purpose."""


class ServerUnavailableError(ModelportClientError):
    """The server could not be reached (refused, DNS, network) or did not answer in time."""


class ModelportAPIError(ModelportClientError):
    """The server answered with an error envelope."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        field: str | None = None,
        details: Sequence[ErrorDetail] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.field = field
        self.details = list(details)

    def __str__(self) -> str:
        return self.message


class AuthError(ModelportAPIError):
    """401: no token, or a token that matches nothing (revoked, mistyped, another server's)."""


class PermissionDeniedError(ModelportAPIError):
    """403: the token's role does not allow this action."""


class NotFoundError(ModelportAPIError):
    """404: no such object in the token's project."""


class ConflictError(ModelportAPIError):
    """409: the name is taken with another spec, or the given generation is stale."""


class QuotaExceededError(ModelportAPIError):
    """429: over one of the project's limits; `retry_after` is the server's hint in seconds."""

    retry_after: float | None = None


class ValidationError(ModelportAPIError):
    """400/422: the request is invalid; `field` names the culprit (e.g. "spec.replicas")."""


_BY_STATUS: dict[int, type[ModelportAPIError]] = {
    400: ValidationError,
    401: AuthError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: QuotaExceededError,
}


class EndpointNotReadyError(ModelportClientError):
    """wait_ready gave up; `endpoint` is the last state seen, `events` the latest events."""

    def __init__(
        self, message: str, endpoint: EndpointPublic, events: Sequence[EventPublic]
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.events = list(events)


class EndpointFailedError(EndpointNotReadyError):
    """The endpoint's phase became FAILED: its replicas keep failing."""


class EndpointStoppedError(EndpointNotReadyError):
    """The endpoint is stopped or being deleted, so it will not become ready."""


class WaitTimeoutError(EndpointNotReadyError, TimeoutError):
    """The endpoint did not become ready within the timeout."""


def error_from_response(response: httpx.Response) -> ModelportAPIError:
    """The exception for an error response: typed by status, fields from the envelope."""
    status = response.status_code
    cls = _BY_STATUS.get(status, ModelportAPIError)
    try:
        body = ErrorEnvelope.model_validate_json(response.content).error
    except PydanticValidationError:
        text = response.text.strip()[:_MAX_TEXT] or response.reason_phrase
        error = cls(status, "http_error", f"HTTP {status}: {text}")
    else:
        error = cls(status, body.type, body.message, body.field, body.details)
    if isinstance(error, QuotaExceededError):
        error.retry_after = _seconds(response.headers.get("retry-after"))
    return error


def _seconds(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def unavailable(base_url: str, exc: httpx.TransportError) -> ServerUnavailableError:
    if isinstance(exc, httpx.TimeoutException):
        return ServerUnavailableError(f"Modelport at {base_url} did not answer in time ({exc!r})")
    return ServerUnavailableError(
        f"cannot reach Modelport at {base_url} ({exc or type(exc).__name__}); "
        "start it with `modelport server`, or set MODELPORT_URL / --url"
    )
