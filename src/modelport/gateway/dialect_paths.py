"""Vendor inference URLs (E2E TIR, DeepInfra, Tensormesh) mapped onto the gateway's routes.

Clients written for a vendor keep their URLs; the request then goes through the same auth,
balancing, retries, streaming and metrics as the native paths:

- TIR: `/tir/project/p-{project_id}/endpoint/is-{endpoint_id}/{rest}` -> the endpoint with that
  id in the caller's project, forwarded as `/{rest}` plus the query (the body as sent).
- DeepInfra: POST `/deepinfra/v1/openai/{chat/completions|completions|embeddings}`, GET
  `/deepinfra/v1/openai/models`; `model` names the deployment (see `gateway.aliases`).
- Tensormesh: the same under `/tensormesh/openai/v1/`.

Model-in-body requests are forwarded as `/v1/...` with `model` set to the endpoint's name: the
name every engine adapter serves the model under, and what the native `/v1/...` path sends.

Parsing is prefix splits and dict lookups; every lookup reads the route table snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from modelport.domain.errors import NotFound
from modelport.gateway.aliases import DEEPINFRA, TENSORMESH
from modelport.gateway.incoming import raw_path, with_query
from modelport.gateway.responses import Scope
from modelport.gateway.routes import EndpointRoute, Listing, RouteTable
from modelport.services.auth import Principal

TIR = "tir"
TIR_PREFIX = "/tir/project/"
_BASES = {DEEPINFRA: "/deepinfra/v1/openai", TENSORMESH: "/tensormesh/openai/v1"}
DIALECT_PREFIXES = (TIR_PREFIX, *(base + "/" for base in _BASES.values()))

_OPERATIONS = ("chat/completions", "completions", "embeddings")
_MODEL_IN_BODY = {
    f"{base}/{operation}": (dialect, f"/v1/{operation}".encode())
    for dialect, base in _BASES.items()
    for operation in _OPERATIONS
}
_MODELS = {f"{base}/models": dialect for dialect, base in _BASES.items()}
_MAX_ID_DIGITS = 18


class Kind(Enum):
    BY_ID = "by_id"  # the path names the endpoint by id (TIR); the body is forwarded as sent
    MODEL_IN_BODY = "model_in_body"  # the body's `model` names the endpoint
    MODELS = "models"  # the dialect's model list, or one model of it


@dataclass(frozen=True, slots=True)
class DialectRequest:
    kind: Kind
    dialect: str
    forward_path: str = ""  # path and query the replica gets (BY_ID, MODEL_IN_BODY)
    project_id: int = 0  # BY_ID: the project the path names
    endpoint_id: int = 0  # BY_ID
    model: str | None = None  # MODELS: the one model asked for; None for the list


def parse_dialect_path(scope: Scope) -> DialectRequest:
    """What a path under one of `DIALECT_PREFIXES` asks for; NotFound if it is no such URL."""
    path: str = scope["path"]
    if path.startswith(TIR_PREFIX):
        return _tir(scope)
    found = _MODEL_IN_BODY.get(path)
    if found is not None:
        return DialectRequest(Kind.MODEL_IN_BODY, found[0], with_query(found[1], scope))
    dialect = _MODELS.get(path)
    if dialect is not None:
        return DialectRequest(Kind.MODELS, dialect)
    base, _, model = path.partition("/models/")
    dialect = _MODELS.get(base + "/models") if model else None
    if dialect is not None:
        return DialectRequest(Kind.MODELS, dialect, model=model)
    raise NotFound(f"no gateway route for {path}")


def _tir(scope: Scope) -> DialectRequest:
    # "p-1/endpoint/is-2/v1/chat?x" -> project 1, endpoint 2, forward "/v1/chat?x"
    parts = raw_path(scope)[len(TIR_PREFIX) :].split(b"/", 3)
    project_id = _number(parts[0], b"p-")
    endpoint_id = _number(parts[2], b"is-") if len(parts) >= 3 else None
    if project_id is None or endpoint_id is None or parts[1] != b"endpoint":
        raise NotFound(
            f"no gateway route for {scope['path']}: TIR inference URLs look like "
            "/tir/project/p-{project_id}/endpoint/is-{endpoint_id}/v1/chat/completions"
        )
    tail = parts[3] if len(parts) == 4 else b""
    return DialectRequest(Kind.BY_ID, TIR, with_query(b"/" + tail, scope), project_id, endpoint_id)


def _number(segment: bytes, prefix: bytes) -> int | None:
    digits = segment[len(prefix) :]
    if not segment.startswith(prefix) or not digits.isdigit() or len(digits) > _MAX_ID_DIGITS:
        return None
    return int(digits)


def resolve_by_id(
    routes: RouteTable, principal: Principal, request: DialectRequest
) -> EndpointRoute:
    """The endpoint a TIR URL names; the same 404 for another project's, an unknown id, and
    (for an endpoint-scoped key) any endpoint but its own."""
    route = routes.get(request.endpoint_id)
    if (
        route is None
        or request.project_id != principal.project_id
        or route.project_id != principal.project_id
        or (principal.endpoint_id is not None and principal.endpoint_id != route.endpoint_id)
    ):
        raise NotFound(
            f"no running endpoint is-{request.endpoint_id} in project p-{request.project_id}"
        )
    return route


def resolve_model(
    routes: RouteTable, principal: Principal, dialect: str, model: str
) -> EndpointRoute:
    """The endpoint a dialect's `model` means in the caller's project (404 naming the model)."""
    route = routes.lookup_alias(dialect, principal.project_id, model)
    if route is None or (
        principal.endpoint_id is not None and principal.endpoint_id != route.endpoint_id
    ):
        raise NotFound(f"no running deployment for model '{model}' in this project")
    return route


def listed_models(routes: RouteTable, principal: Principal, dialect: str) -> Listing:
    """(model id, route) the caller may call through this dialect, by model id."""
    listing = routes.listed(dialect, principal.project_id)
    if principal.endpoint_id is None:
        return listing
    return tuple(pair for pair in listing if pair[1].endpoint_id == principal.endpoint_id)
