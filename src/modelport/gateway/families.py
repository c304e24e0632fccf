"""Which family of gateway URL a request path is, decided once per request.

The server's split between gateway and management API (`is_gateway_path`), the fast protocol
and `Gateway.handle` all ask this one function; the fast protocol puts the answer in the scope
(`FAMILY_KEY`) so the gateway does not ask again.
"""

from __future__ import annotations

from enum import Enum

from modelport.domain.dialects import INFERENCE_PREFIXES
from modelport.gateway.asgi import Scope

ENDPOINTS_PREFIX = "/endpoints/"
V1_PREFIX = "/v1/"
MODEL_IN_BODY_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})
MODELS_PATH = "/v1/models"
METRICS_PATH = "/metrics"
FAMILY_KEY = "modelport.family"  # scope key: the Family a server already found


class Family(Enum):
    BY_NAME = "by_name"  # /endpoints/{name}/{path}: the endpoint named in the path
    MODEL_IN_BODY = "model_in_body"  # /v1/chat/completions etc.: the body's model names it
    MODELS = "models"  # /v1/models[/{id}]: what the token may call
    DIALECT = "dialect"  # a vendor's inference URL (gateway/dialect_paths.py)
    METRICS = "metrics"  # Prometheus
    UNROUTED = "unrouted"  # under /v1/ but nothing there: 404 in the OpenAI shape


def classify(path: str) -> Family | None:
    """The gateway family of `path`; None: the management API's."""
    if path.startswith(V1_PREFIX):
        if path in MODEL_IN_BODY_PATHS:
            return Family.MODEL_IN_BODY
        if path == MODELS_PATH or path.startswith(MODELS_PATH + "/"):
            return Family.MODELS
        return Family.UNROUTED
    if path.startswith(ENDPOINTS_PREFIX):
        return Family.BY_NAME
    if path.startswith(INFERENCE_PREFIXES):
        return Family.DIALECT
    if path == METRICS_PATH:
        return Family.METRICS
    return None


def is_gateway_path(path: str) -> bool:
    return classify(path) is not None


def family_of(scope: Scope) -> Family:
    """The family a server stored in the scope, else found now (ASGI scopes carry none)."""
    family: Family | None = scope.get(FAMILY_KEY) or classify(scope["path"])
    return family or Family.UNROUTED
