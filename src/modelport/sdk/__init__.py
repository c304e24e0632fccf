"""Python client of Modelport's native API: `Client` (sync) and `AsyncClient` (asyncio)."""

from modelport.sdk.async_client import AsyncClient
from modelport.sdk.calls import EndpointFilters
from modelport.sdk.client import Client
from modelport.sdk.config import ClientConfig, resolve_config
from modelport.sdk.errors import (
    AuthError,
    ConflictError,
    EndpointFailedError,
    EndpointNotReadyError,
    EndpointStoppedError,
    ModelportAPIError,
    ModelportClientError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    ServerUnavailableError,
    ValidationError,
    WaitTimeoutError,
)
from modelport.sdk.invocations import InvocationAccepted, InvocationWaitTimeoutError
from modelport.sdk.models import ProjectCreated, ProjectList, WhoAmI

__all__ = [
    "AsyncClient",
    "AuthError",
    "Client",
    "ClientConfig",
    "ConflictError",
    "EndpointFailedError",
    "EndpointFilters",
    "EndpointNotReadyError",
    "EndpointStoppedError",
    "InvocationAccepted",
    "InvocationWaitTimeoutError",
    "ModelportAPIError",
    "ModelportClientError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProjectCreated",
    "ProjectList",
    "QuotaExceededError",
    "ServerUnavailableError",
    "ValidationError",
    "WaitTimeoutError",
    "WhoAmI",
    "resolve_config",
]
