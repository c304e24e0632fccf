"""The gateway as a plain ASGI app: authenticate, pick the endpoint, hand over to the proxy.

No framework on this path: the server's dispatcher sends `/endpoints/...`, `/v1/...` and
`/metrics` here before FastAPI sees them. Lifespan belongs to the server, which awaits
`startup()` / `shutdown()` (they open and close the upstream connection pool).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from modelport.domain.errors import NotFound, Unauthorized
from modelport.gateway.balancing import Balancer
from modelport.gateway.headers import split_request_headers
from modelport.gateway.metrics import CLIENT_CLOSED, UNROUTED, GatewayMetrics
from modelport.gateway.proxy import Proxy, ProxyRequest
from modelport.gateway.responses import Receive, Scope, Send, send_body, send_error, send_json
from modelport.gateway.routes import EndpointRoute, RouteTable
from modelport.services.auth import Authenticator, Principal
from modelport.settings import Settings
from modelport.store.base import Store

log = logging.getLogger("modelport.gateway")

ENDPOINTS_PREFIX = "/endpoints/"
MODEL_IN_BODY_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})
MODELS_PATH = "/v1/models"
METRICS_PATH = "/metrics"
_METRICS_TYPE = (b"content-type", b"text/plain; version=0.0.4; charset=utf-8")


class _ClientGone(Exception):
    """The client disconnected while sending its request."""


class _BodyTooLarge(Exception):
    pass


class _BadRequest(Exception):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class Gateway:
    def __init__(
        self,
        store: Store,
        authenticator: Authenticator,
        route_table: RouteTable,
        balancer: Balancer,
        metrics: GatewayMetrics,
        settings: Settings,
    ) -> None:
        self._store = store
        self._auth = authenticator
        self._routes = route_table
        self._metrics = metrics
        self._max_body = settings.max_body_bytes
        self._proxy = Proxy(balancer, metrics, settings.upstream_timeout)
        self._project_names: dict[int, str] = {}

    async def startup(self) -> None:
        await self._proxy.startup()

    async def shutdown(self) -> None:
        await self._proxy.shutdown()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        path: str = scope["path"]
        if path == METRICS_PATH:
            # Unauthenticated on purpose: Prometheus scrapes it; deployments keep the server on
            # loopback or behind a firewall (the counters carry endpoint names, nothing else).
            await send_body(send, 200, self._metrics.render(), [_METRICS_TYPE])
            return
        client = scope.get("client")
        incoming = split_request_headers(
            scope["headers"], client[0] if client else None, scope.get("scheme", "http")
        )
        request_id = incoming.request_id
        principal = self._auth.cached(incoming.authorization)
        if principal is None:
            try:
                principal = await asyncio.to_thread(self._auth.authenticate, incoming.authorization)
            except Unauthorized as exc:
                await send_error(
                    send, 401, exc.message, "authentication_error", "invalid_api_key", request_id
                )
                self._metrics.answered(UNROUTED, 401, time.perf_counter() - started)
                return
        method: str = scope["method"]
        try:
            if path.startswith(ENDPOINTS_PREFIX):
                name, forward_path = _split_endpoint_path(scope)
                route = self._resolve(principal, name)
                body = await self._read_body(receive, incoming.content_length)
            elif path in MODEL_IN_BODY_PATHS:
                if method != "POST":
                    raise _BadRequest(f"{path} takes POST", "method_not_allowed")
                forward_path = _raw_path(scope)
                body = await self._read_body(receive, incoming.content_length)
                route = self._resolve(principal, _model_of(body))
            elif path == MODELS_PATH or path.startswith(MODELS_PATH + "/"):
                await self._models(principal, path, request_id, send)
                self._metrics.answered(UNROUTED, 200, time.perf_counter() - started)
                return
            else:
                raise NotFound(f"no gateway route for {path}")
        except NotFound as exc:
            await send_error(
                send, 404, exc.message, "invalid_request_error", "not_found", request_id
            )
            self._metrics.answered(UNROUTED, 404, time.perf_counter() - started)
            return
        except _BadRequest as exc:
            status = 405 if exc.code == "method_not_allowed" else 400
            await send_error(
                send, status, exc.message, "invalid_request_error", exc.code, request_id
            )
            self._metrics.answered(UNROUTED, status, time.perf_counter() - started)
            return
        except _BodyTooLarge:
            await send_error(
                send, 413, f"request body is larger than {self._max_body} bytes",
                "invalid_request_error", "request_too_large", request_id,
            )  # fmt: skip
            self._metrics.answered(UNROUTED, 413, time.perf_counter() - started)
            return
        except _ClientGone:
            self._metrics.answered(UNROUTED, CLIENT_CLOSED, time.perf_counter() - started)
            return
        await self._proxy_to(route, method, forward_path, body, incoming.forward, request_id,
                             started, receive, send)  # fmt: skip

    async def _proxy_to(
        self,
        route: EndpointRoute,
        method: str,
        path_qs: str,
        body: bytes,
        headers: list[tuple[str, str]],
        request_id: str,
        started: float,
        receive: Receive,
        send: Send,
    ) -> None:
        metrics = self._metrics
        metrics.started(route.name)
        status = 502  # what the client sees if the proxy raises (connection cut mid-response)
        try:
            status = await self._proxy.forward(
                route, ProxyRequest(method, path_qs, body, headers, request_id), receive, send
            )
        finally:
            metrics.finished(route.name, status, time.perf_counter() - started)

    def _resolve(self, principal: Principal, name: str) -> EndpointRoute:
        route = self._routes.lookup(principal.project_id, name)
        if route is None:
            raise NotFound(f"no running endpoint named '{name}' in this project")
        principal.require_endpoint(route.endpoint_id)
        return route

    async def _read_body(self, receive: Receive, declared: int | None) -> bytes:
        limit = self._max_body
        if declared is not None and declared > limit:
            raise _BodyTooLarge
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        body: bytes = message.get("body", b"")
        if not message.get("more_body", False):  # the common case: one message
            if len(body) > limit:
                raise _BodyTooLarge
            return body
        parts = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _models(self, principal: Principal, path: str, request_id: str, send: Send) -> None:
        routes = [
            r
            for r in self._routes.endpoints(principal.project_id)
            if principal.endpoint_id is None or principal.endpoint_id == r.endpoint_id
        ]
        owner = await self._project_name(principal.project_id)
        models = [
            {"id": r.name, "object": "model", "created": r.created, "owned_by": owner}
            for r in routes
        ]
        if path == MODELS_PATH:
            await send_json(send, 200, {"object": "list", "data": models}, request_id)
            return
        wanted = path[len(MODELS_PATH) + 1 :]
        for model in models:
            if model["id"] == wanted:
                await send_json(send, 200, model, request_id)
                return
        raise NotFound(f"no running endpoint named '{wanted}' in this project")

    async def _project_name(self, project_id: int) -> str:
        name = self._project_names.get(project_id)
        if name is None:
            project = await asyncio.to_thread(self._store.get_project, project_id)
            name = self._project_names[project_id] = project.name
        return name


def _raw_path(scope: Scope) -> str:
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    return _with_query(raw, scope)


def _split_endpoint_path(scope: Scope) -> tuple[str, str]:
    """'/endpoints/web/v1/x?q=1' -> ('web', '/v1/x?q=1'); the tail keeps its encoding."""
    name = scope["path"][len(ENDPOINTS_PREFIX) :].partition("/")[0]
    raw: bytes = scope.get("raw_path") or scope["path"].encode()
    tail = raw[len(ENDPOINTS_PREFIX) :].partition(b"/")[2]
    return name, _with_query(b"/" + tail, scope)


def _with_query(raw_path: bytes, scope: Scope) -> str:
    query: bytes = scope.get("query_string", b"")
    return (raw_path + b"?" + query if query else raw_path).decode("latin-1")


def _model_of(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        raise _BadRequest("the request body is not valid JSON", "invalid_json") from None
    model = payload.get("model") if isinstance(payload, dict) else None
    if not isinstance(model, str) or not model:
        raise _BadRequest(
            "'model' is required: the name of one of your endpoints", "model_required"
        )
    return model


def create_gateway(
    store: Store,
    authenticator: Authenticator,
    route_table: RouteTable,
    balancer: Balancer,
    metrics: GatewayMetrics,
    settings: Settings,
) -> Gateway:
    """The gateway ASGI app; the caller runs its `startup()` / `shutdown()`."""
    return Gateway(store, authenticator, route_table, balancer, metrics, settings)
