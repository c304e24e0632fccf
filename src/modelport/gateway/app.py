"""The gateway: authenticate, pick the endpoint, hand over to the proxy.

No framework on this path. `Gateway.handle` serves one request whichever server carries it:
the fast path (`server/fast_protocol.py`: straight from uvicorn's HTTP protocol, no ASGI cycle)
or, as a plain ASGI app, the server's dispatcher, which sends `/endpoints/...`, `/v1/...`,
`/metrics` and the vendor dialects' inference URLs (`dialect_paths`) here before FastAPI sees
them. Lifespan belongs to the server, which awaits `startup()` / `shutdown()` (they open and
close the upstream connection pool).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from functools import partial

from modelport import __version__
from modelport.domain.errors import NotFound, Unauthorized
from modelport.gateway import deepinfra_native, dialect_paths, engine_routes
from modelport.gateway.async_hook import (
    AsyncIntake,
    intake_headers,
    is_async_target,
    split_async_path,
)
from modelport.gateway.balancing import Balancer
from modelport.gateway.dialect_paths import DIALECT_PREFIXES, Kind, parse_dialect_path
from modelport.gateway.downstream import AsgiClient, ClientSide
from modelport.gateway.headers import IncomingHeaders, split_request_headers
from modelport.gateway.hold import Answered, DemandHook, Holder, no_demand_hook
from modelport.gateway.incoming import (
    BadRequest,
    BodyTooLarge,
    ClientGone,
    parse_model,
    raw_path,
    with_model,
    with_query,
)
from modelport.gateway.limits import Refusal, RequestLimiter
from modelport.gateway.load import LoadReporter
from modelport.gateway.metrics import CLIENT_CLOSED, UNROUTED, GatewayMetrics
from modelport.gateway.model_lists import ModelLists
from modelport.gateway.native_client import PREFIX as DEEPINFRA_NATIVE_PREFIX
from modelport.gateway.native_client import NativeClient
from modelport.gateway.proxy import Proxy, ProxyRequest
from modelport.gateway.reshaping_client import ReshapingClient
from modelport.gateway.responses import (
    Receive,
    Scope,
    Send,
    respond_body,
    respond_error,
    respond_json,
)
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
# What an OpenAI-compatible server's /health and /version say for the gateway itself: it is up
# and the token is good (each model's readiness is in its dialect's model list and API).
_SERVER_INFO = {Kind.HEALTH: {"status": "ok"}, Kind.VERSION: {"version": __version__}}


class Gateway:
    def __init__(
        self,
        store: Store,
        authenticator: Authenticator,
        route_table: RouteTable,
        balancer: Balancer,
        metrics: GatewayMetrics,
        settings: Settings,
        async_intake: AsyncIntake | None = None,
        on_demand: DemandHook = no_demand_hook,
    ) -> None:
        self._store = store
        # What the autoscaler reads: `gateway.load.collect(now)`, or with several gateway
        # processes the shared slot the balancer writes too (read by load.LoadBoard).
        self.load = LoadReporter(slot=balancer.slot)
        self._holder = Holder(route_table, settings.hold_timeout, on_demand, metrics)
        self._intake = async_intake  # queued invocations (gateway/async_hook.py); None: off
        self._auth = authenticator
        self._routes = route_table
        self._metrics = metrics
        self._max_body = settings.max_body_bytes
        self._max_depth = settings.max_json_depth
        self._limiter = RequestLimiter()
        self._proxy = Proxy(balancer, metrics, settings.upstream_timeout)
        self._models = ModelLists(store)

    async def startup(self) -> None:
        await self._proxy.startup()

    async def shutdown(self) -> None:
        await self._proxy.shutdown()

    @property
    def max_body_bytes(self) -> int:
        return self._max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI app: the same handling as the fast path, over ASGI messages."""
        if scope["type"] == "http":
            await self.handle(scope, AsgiClient(receive, send))

    async def handle(self, scope: Scope, client: ClientSide) -> None:
        """One request, whichever server carries it.

        `scope` needs the ASGI keys `method`, `path`, `raw_path`, `query_string`, `headers`,
        `client` and `scheme`; everything the client sees goes through `client`.
        """
        started = time.perf_counter()
        path: str = scope["path"]
        if path == METRICS_PATH:
            # Unauthenticated on purpose: Prometheus scrapes it; deployments keep the server on
            # loopback or behind a firewall (the counters carry endpoint names, nothing else).
            await respond_body(client, 200, self._metrics.render(), [_METRICS_TYPE])
            return
        peer = scope.get("client")
        incoming = split_request_headers(
            scope["headers"], peer[0] if peer else None, scope.get("scheme", "http")
        )
        request_id = incoming.request_id
        if path.startswith(DEEPINFRA_NATIVE_PREFIX):  # answered in DeepInfra's shapes, errors too
            client = NativeClient(client, request_id)
        principal = None if incoming.duplicate else self._auth.cached(incoming.authorization)
        if principal is None:
            try:
                principal = await asyncio.to_thread(self._authenticate, incoming)
            except Unauthorized as exc:
                await respond_error(
                    client, 401, exc.message, "authentication_error", "invalid_api_key", request_id
                )
                self._metrics.answered(UNROUTED, 401, time.perf_counter() - started)
                return
        limits = principal.limits
        if limits.requests_per_minute is None and limits.concurrent_requests is None:
            await self._serve(scope, client, principal, incoming, started)
            return
        admitted = self._limiter.admit(principal)
        if isinstance(admitted, Refusal):
            retry_after = (b"retry-after", b"%d" % admitted.retry_after)
            await respond_error(
                client, 429, admitted.message, "rate_limit_error", admitted.code, request_id,
                [retry_after],
            )  # fmt: skip
            self._metrics.answered(UNROUTED, 429, time.perf_counter() - started)
            return
        try:
            await self._serve(scope, client, principal, incoming, started)
        finally:
            if admitted:  # holds a concurrency slot: given back however the request ended
                self._limiter.release(principal)

    async def _serve(
        self,
        scope: Scope,
        client: ClientSide,
        principal: Principal,
        incoming: IncomingHeaders,
        started: float,
    ) -> None:
        """Route an authenticated, admitted request and forward it (or answer it here)."""
        path: str = scope["path"]
        request_id = incoming.request_id
        method: str = scope["method"]
        declared = incoming.content_length
        reshaping: ReshapingClient | None = None
        queued = False  # handed to the async intake instead of a replica
        try:
            if path.startswith(ENDPOINTS_PREFIX):
                name, forward_path = _split_endpoint_path(scope)
                route = self._resolve(principal, name)
                async_path = split_async_path(forward_path)
                if async_path is not None:  # /endpoints/{name}/async/{path}
                    self._require_intake(method, name)
                    forward_path, queued = async_path, True
                body = await client.read_body(declared, self._max_body)
            elif path in MODEL_IN_BODY_PATHS:
                if method != "POST":
                    raise BadRequest(f"{path} takes POST", "method_not_allowed")
                forward_path = with_query(raw_path(scope), scope)
                body = await client.read_body(declared, self._max_body)
                route = self._resolve(principal, parse_model(body, self._max_depth)[1])
            elif path == MODELS_PATH or path.startswith(MODELS_PATH + "/"):
                native = [(r.name, r) for r in self._routes.endpoints(principal.project_id)]
                wanted = path[len(MODELS_PATH) + 1 :] or None
                await self._models.answer(principal, native, wanted, request_id, client)
                self._metrics.answered(UNROUTED, 200, time.perf_counter() - started)
                return
            elif path.startswith(DIALECT_PREFIXES):
                dialect = parse_dialect_path(scope)
                if dialect.kind is Kind.MODELS:
                    listing = dialect_paths.listed_models(self._routes, principal, dialect.dialect)
                    await self._models.answer(principal, listing, dialect.model, request_id, client)
                    self._metrics.answered(UNROUTED, 200, time.perf_counter() - started)
                    return
                if dialect.kind is Kind.HEALTH or dialect.kind is Kind.VERSION:
                    if method != "GET":
                        raise BadRequest(f"{path} takes GET", "method_not_allowed")
                    await respond_json(client, 200, _SERVER_INFO[dialect.kind], request_id)
                    self._metrics.answered(UNROUTED, 200, time.perf_counter() - started)
                    return
                if dialect.operation in engine_routes.TRANSLATED:
                    # Armed once the engine is known: only an engine with a translation reshapes.
                    client = reshaping = ReshapingClient(client, dialect.operation)
                route, body, forward_path = await self._dialect_route(
                    principal, dialect, method, declared, client
                )
                queued = (
                    dialect.kind is Kind.BY_ID
                    and self._intake is not None
                    and is_async_target(route, method, forward_path)
                )
            else:
                raise NotFound(f"no gateway route for {path}")
        except (NotFound, BadRequest, BodyTooLarge, ClientGone, deepinfra_native.BadInput) as exc:
            status = await self._refuse(client, exc, request_id)
            self._metrics.answered(UNROUTED, status, time.perf_counter() - started)
            return
        if queued:
            assert self._intake is not None  # `queued` is only set with an intake
            answer = await self._intake.submit(
                principal, route, method, forward_path, body, intake_headers(scope["headers"]),
                request_id,
            )  # fmt: skip
            await respond_json(
                client, answer.status, answer.body_json, request_id, list(answer.headers)
            )
            self._metrics.answered(route.name, answer.status, time.perf_counter() - started)
            return
        forward = incoming.forward
        if (reshaping is not None and reshaping.armed) or isinstance(client, NativeClient):
            forward = ReshapingClient.identity_encoding(forward)  # the answer is read, not relayed
        request = ProxyRequest(method, forward_path, body, forward, request_id)
        metrics, load, endpoint_id, name = self._metrics, self.load, route.endpoint_id, route.name
        metrics.started(name)
        load.started(endpoint_id)  # held requests too: they are the demand that wakes a replica
        status = 502  # what the client sees if the proxy raises (connection cut mid-response)
        try:
            if not route.replicas:  # running, nothing READY yet (e.g. at zero): wait for one
                held = await self._holder.hold(route, client, request_id)
                if isinstance(held, Answered):
                    status = held.status
                    return
                route = held
            status = await self._proxy.forward(route, request, client)
        finally:
            metrics.finished(name, status, time.perf_counter() - started)
            load.finished(endpoint_id)

    async def _refuse(self, client: ClientSide, exc: Exception, request_id: str) -> int:
        """Answer a request refused before it reached an endpoint; returns the status."""
        if isinstance(exc, ClientGone):
            return CLIENT_CLOSED  # nobody to answer
        if isinstance(exc, deepinfra_native.BadInput):
            await respond_json(client, 422, deepinfra_native.field_error(exc), request_id)
            return 422
        if isinstance(exc, NotFound):
            status, message, code = 404, exc.message, "not_found"
        elif isinstance(exc, BadRequest):
            status = 405 if exc.code == "method_not_allowed" else 400
            message, code = exc.message, exc.code
        else:
            message = f"request body is larger than {self._max_body} bytes"
            status, code = 413, "request_too_large"
        await respond_error(client, status, message, "invalid_request_error", code, request_id)
        return status

    def _require_intake(self, method: str, name: str) -> None:
        if self._intake is None:
            raise NotFound("asynchronous invocations are not enabled on this server")
        if method != "POST":
            raise BadRequest(f"{ENDPOINTS_PREFIX}{name}/async/... takes POST", "method_not_allowed")

    def _authenticate(self, incoming: IncomingHeaders) -> Principal:
        """In a worker thread (a cache miss reads the store); Unauthorized if it fails."""
        if incoming.duplicate:
            raise Unauthorized(f"send one {incoming.duplicate} header, not several")
        return self._auth.authenticate(incoming.authorization)

    def _resolve(self, principal: Principal, name: str) -> EndpointRoute:
        route = self._routes.lookup(principal.project_id, name)
        if route is None:
            raise NotFound(f"no running endpoint named '{name}' in this project")
        principal.require_endpoint(route.endpoint_id)
        return route

    async def _dialect_route(
        self,
        principal: Principal,
        request: dialect_paths.DialectRequest,
        method: str,
        declared: int | None,
        client: ClientSide,
    ) -> tuple[EndpointRoute, bytes, str]:
        """The endpoint a vendor inference URL means, the body to forward to it and where."""
        if request.kind is Kind.BY_ID:
            route = dialect_paths.resolve_by_id(self._routes, principal, request)
            return route, await client.read_body(declared, self._max_body), request.forward_path
        if request.kind is Kind.DEEPINFRA_NATIVE:
            assert isinstance(client, NativeClient), "handle() wraps every native request"
            return await self._deepinfra_native(principal, request, method, declared, client)
        if method != "POST":
            raise BadRequest(f"{request.forward_path} takes POST", "method_not_allowed")
        body = await client.read_body(declared, self._max_body)
        payload, model = parse_model(body, self._max_depth)
        route = dialect_paths.resolve_model(self._routes, principal, request.dialect, model)
        if isinstance(client, ReshapingClient) and request.operation is not None:
            translation = engine_routes.translation(route.framework, request.operation)
            if translation is not None:  # the engine serves it elsewhere, in another shape
                asked = {**payload, "model": route.name}
                forward_body = json.dumps(translation.request(asked)).encode()
                client.arm(partial(translation.answer, asked))
                query = request.forward_path.partition("?")[2]
                path = f"{translation.path}?{query}" if query else translation.path
                return route, forward_body, path
        return route, with_model(payload, body, route.name), request.forward_path

    async def _deepinfra_native(
        self,
        principal: Principal,
        request: dialect_paths.DialectRequest,
        method: str,
        declared: int | None,
        client: NativeClient,
    ) -> tuple[EndpointRoute, bytes, str]:
        """DeepInfra's `POST /v1/inference/{model}` as the OpenAI call it means (see
        gateway/deepinfra_native.py); `client` translates the answer back."""
        if method != "POST":
            raise BadRequest(f"{DEEPINFRA_NATIVE_PREFIX}{{model}} takes POST", "method_not_allowed")
        assert request.model is not None
        route = dialect_paths.resolve_model(self._routes, principal, request.dialect, request.model)
        body = await client.read_body(declared, self._max_body)
        native = deepinfra_native.to_openai(deepinfra_native.parse_body(body, self._max_depth))
        client.expect(native)
        return route, deepinfra_native.forward_body(native, route.name), native.task.value


def _split_endpoint_path(scope: Scope) -> tuple[str, str]:
    """'/endpoints/web/v1/x?q=1' -> ('web', '/v1/x?q=1'); the tail keeps its encoding."""
    name = scope["path"][len(ENDPOINTS_PREFIX) :].partition("/")[0]
    tail = raw_path(scope)[len(ENDPOINTS_PREFIX) :].partition(b"/")[2]
    return name, with_query(b"/" + tail, scope)


def create_gateway(
    store: Store,
    authenticator: Authenticator,
    route_table: RouteTable,
    balancer: Balancer,
    metrics: GatewayMetrics,
    settings: Settings,
    async_intake: AsyncIntake | None = None,
    on_demand: DemandHook = no_demand_hook,
) -> Gateway:
    """The gateway ASGI app; the caller runs its `startup()` / `shutdown()`.

    `async_intake` takes queued invocations (gateway/async_hook.py); `on_demand(endpoint_id)` is
    told when a request waits for an endpoint's first READY replica (gateway/hold.py)."""
    return Gateway(
        store, authenticator, route_table, balancer, metrics, settings, async_intake, on_demand
    )
