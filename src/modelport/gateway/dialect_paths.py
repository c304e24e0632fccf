"""Vendor inference URLs (E2E TIR, DeepInfra, Tensormesh) mapped onto the gateway's routes.

Where each dialect's inference bases are is `domain.dialects`; this module reads each base's
URL layout (its `Shape`). Clients written for a vendor keep their URLs; the request then goes
through the same auth, balancing, retries, streaming and metrics as the native paths:

- BY_ID (TIR): `/tir/project/p-{project_id}/endpoint/is-{endpoint_id}/{rest}` -> the endpoint
  with that id in the caller's project, forwarded as `/{rest}` plus the query (body as sent).
- OPENAI (DeepInfra `/deepinfra/v1/openai`): POST `{base}/{chat/completions|completions|
  embeddings|responses}`, GET `{base}/models[/{model}]`; `model` names the deployment (see
  `gateway.aliases`).
- OPENAI_SERVER (Tensormesh `/tensormesh/openai`): the same under `{base}/v1/`, plus POST
  `{base}/tokenize`, `{base}/detokenize` (model in body) and GET `{base}/health`,
  `{base}/version` (answered by the gateway itself).
- DEEPINFRA_NATIVE (`/deepinfra/v1/inference`): POST `{base}/{model}`, DeepInfra's own API.

Model-in-body requests are forwarded with `model` set to the endpoint's name (the name every
engine adapter serves the model under, as on the native `/v1/...` path), to the operation's
path in vLLM's layout (`forward_path`; gateway/engine_routes.py maps it for engines that differ).

Parsing is prefix splits and dict lookups; every lookup reads the route table snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from modelport.domain import dialects
from modelport.domain.dialects import Shape
from modelport.domain.errors import NotFound
from modelport.gateway.asgi import Scope
from modelport.gateway.incoming import raw_path, with_query
from modelport.gateway.routes import EndpointRoute, Listing, RouteTable
from modelport.services.auth import Principal

TIR = dialects.TIR.name
TIR_PREFIX = dialects.TIR.base(Shape.BY_ID) + "/"
DIALECT_PREFIXES = dialects.INFERENCE_PREFIXES
_MAX_ID_DIGITS = 18


class Operation(Enum):
    """A model-in-body call; the value is its path on an engine in vLLM's layout."""

    CHAT = "/v1/chat/completions"
    COMPLETIONS = "/v1/completions"
    EMBEDDINGS = "/v1/embeddings"
    RESPONSES = "/v1/responses"  # OpenAI's Responses API
    TOKENIZE = "/tokenize"
    DETOKENIZE = "/detokenize"


class Kind(Enum):
    BY_ID = "by_id"  # the path names the endpoint by id (TIR); the body is forwarded as sent
    MODEL_IN_BODY = "model_in_body"  # the body's `model` names the endpoint
    MODELS = "models"  # the dialect's model list, or one model of it
    HEALTH = "health"  # the gateway's own health, no model (OPENAI_SERVER `/health`)
    VERSION = "version"  # the gateway's version, no model (OPENAI_SERVER `/version`)
    DEEPINFRA_NATIVE = "deepinfra_native"  # DeepInfra's `/v1/inference/{model}`; `model` set


@dataclass(frozen=True, slots=True)
class DialectRequest:
    kind: Kind
    dialect: str
    forward_path: str = ""  # path and query the replica gets (BY_ID, MODEL_IN_BODY)
    project_id: int = 0  # BY_ID: the project the path names
    endpoint_id: int = 0  # BY_ID
    model: str | None = None  # MODELS: the one model asked for (None: the list); NATIVE: model
    operation: Operation | None = None  # MODEL_IN_BODY


_V1 = (Operation.CHAT, Operation.COMPLETIONS, Operation.EMBEDDINGS, Operation.RESPONSES)
_SERVER_EXTRAS = (Operation.TOKENIZE, Operation.DETOKENIZE)


def _openai_paths(base: str) -> dict[str, Operation]:
    """`{base}/chat/completions` etc.: base is an OpenAI SDK's base_url (ends in a version)."""
    return {base + op.value.removeprefix("/v1"): op for op in _V1}


def _model_in_body() -> dict[str, tuple[str, Operation]]:
    found: dict[str, tuple[str, Operation]] = {}
    for dialect, base in dialects.INFERENCE_BASES:
        if base.shape is Shape.OPENAI:
            paths = _openai_paths(base.path)
        elif base.shape is Shape.OPENAI_SERVER:
            paths = _openai_paths(base.path + "/v1")
            paths.update({base.path + op.value: op for op in _SERVER_EXTRAS})
        else:
            continue
        found.update({path: (dialect.name, op) for path, op in paths.items()})
    return found


def _models_bases() -> dict[str, str]:
    """`{openai base}/models` -> dialect."""
    found: dict[str, str] = {}
    for dialect, base in dialects.INFERENCE_BASES:
        if base.shape is Shape.OPENAI:
            found[base.path + "/models"] = dialect.name
        elif base.shape is Shape.OPENAI_SERVER:
            found[base.path + "/v1/models"] = dialect.name
    return found


def _server_info() -> dict[str, tuple[Kind, str]]:
    found: dict[str, tuple[Kind, str]] = {}
    for dialect, base in dialects.INFERENCE_BASES:
        if base.shape is Shape.OPENAI_SERVER:
            found[base.path + "/health"] = (Kind.HEALTH, dialect.name)
            found[base.path + "/version"] = (Kind.VERSION, dialect.name)
    return found


_MODEL_IN_BODY = _model_in_body()
_MODELS = _models_bases()
_SERVER_INFO = _server_info()
_NATIVE = tuple(
    (base.prefix, dialect.name)
    for dialect, base in dialects.INFERENCE_BASES
    if base.shape is Shape.DEEPINFRA_NATIVE
)


def parse_dialect_path(scope: Scope) -> DialectRequest:
    """What a path under one of `DIALECT_PREFIXES` asks for; NotFound if it is no such URL."""
    path: str = scope["path"]
    if path.startswith(TIR_PREFIX):
        return _tir(scope)
    found = _MODEL_IN_BODY.get(path)
    if found is not None:
        forward = with_query(found[1].value.encode(), scope)
        return DialectRequest(Kind.MODEL_IN_BODY, found[0], forward, operation=found[1])
    dialect = _MODELS.get(path)
    if dialect is not None:
        return DialectRequest(Kind.MODELS, dialect)
    base, _, model = path.partition("/models/")
    dialect = _MODELS.get(base + "/models") if model else None
    if dialect is not None:
        return DialectRequest(Kind.MODELS, dialect, model=model)
    info = _SERVER_INFO.get(path)
    if info is not None:
        return DialectRequest(info[0], info[1])
    for prefix, dialect in _NATIVE:
        if path.startswith(prefix) and len(path) > len(prefix):
            return DialectRequest(Kind.DEEPINFRA_NATIVE, dialect, model=path[len(prefix) :])
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
