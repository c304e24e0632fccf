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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from modelport import __version__
from modelport.domain.errors import Forbidden, NotFound, Unauthorized
from modelport.gateway import deepinfra_native, dialect_paths, engine_routes
from modelport.gateway.asgi import Receive, Scope, Send
from modelport.gateway.async_hook import (
    AsyncIntake,
    intake_headers,
    is_async_target,
    split_async_path,
)
from modelport.gateway.balancing import Balancer
from modelport.gateway.dialect_paths import Kind, parse_dialect_path
from modelport.gateway.downstream import AsgiClient, ClientSide
from modelport.gateway.families import ENDPOINTS_PREFIX, MODELS_PATH, Family, family_of
from modelport.gateway.headers import IncomingHeaders, split_request_headers
from modelport.gateway.hold import Answered, DemandHook, Holder, no_demand_hook
from modelport.gateway.incoming import (
    MethodNotAllowed,
    parse_model,
    raw_path,
    with_model,
    with_query,
)
from modelport.gateway.limits import Refusal, RequestLimiter
from modelport.gateway.load import LoadReporter
from modelport.gateway.metering import UsageMeter
from modelport.gateway.metering_tap import tapped
from modelport.gateway.metrics import UNROUTED, GatewayMetrics
from modelport.gateway.model_lists import ModelLists
from modelport.gateway.native_client import PREFIX as DEEPINFRA_NATIVE_PREFIX
from modelport.gateway.native_client import NativeClient
from modelport.gateway.proxy import Proxy, ProxyRequest
from modelport.gateway.refusals import REFUSED, refuse
from modelport.gateway.reshaping_client import ReshapingClient
from modelport.gateway.responses import (
    respond_body,
    respond_error,
    respond_json,
)
from modelport.gateway.routes import EndpointRoute, RouteTable
from modelport.security.sessions import SessionCookies, cookie_value
from modelport.services.auth import Authenticator, Principal
from modelport.settings import Settings
from modelport.store.base import Store

log = logging.getLogger("modelport.gateway")

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
        sessions: SessionCookies | None = None,
        meter: UsageMeter | None = None,
    ) -> None:
        self._store = store
        self._meter = meter  # usage metering (gateway/metering.py); None: not metered
        self._sessions = sessions  # the dashboard's cookie (the playground streams through us)
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
        # Per-token limits: the server's, in the shared segment with several processes.
        self._limiter = RequestLimiter(table=balancer.slot.tokens if balancer.slot else None)
        self._proxy = Proxy(balancer, metrics, settings.upstream_timeout)
        self._models = ModelLists()  # the routes carry what the lists show

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
        `client` and `scheme` (and may carry the Family a server found, `FAMILY_KEY`);
        everything the client sees goes through `client`.
        """
        started = time.perf_counter()
        family = family_of(scope)
        if family is Family.METRICS:
            # Unauthenticated on purpose: Prometheus scrapes it; deployments keep the server on
            # loopback or behind a firewall (the counters carry endpoint names, nothing else).
            await respond_body(client, 200, self._metrics.render(), [_METRICS_TYPE])
            return
        peer = scope.get("client")
        incoming = split_request_headers(
            scope["headers"], peer[0] if peer else None, scope.get("scheme", "http")
        )
        if family is Family.DIALECT and scope["path"].startswith(DEEPINFRA_NATIVE_PREFIX):
            client = NativeClient(client, incoming.request_id)  # DeepInfra's shapes, errors too
        principal = None if incoming.duplicate else self._auth.cached(incoming.authorization)
        if principal is None:
            try:
                principal = await asyncio.to_thread(self._authenticate, incoming, scope["method"])
            except (Unauthorized, Forbidden) as exc:
                await self._refused(client, exc, incoming.request_id, started)
                return
        limits = principal.limits
        if limits.requests_per_minute is None and limits.concurrent_requests is None:
            await self._serve(family, scope, client, principal, incoming, started)
            return
        admitted = self._limiter.admit(principal)
        if isinstance(admitted, Refusal):
            retry_after = (b"retry-after", b"%d" % admitted.retry_after)
            await respond_error(
                client, 429, admitted.message, "rate_limit_error", admitted.code,
                incoming.request_id, [retry_after],
            )  # fmt: skip
            self._metrics.answered(UNROUTED, 429, time.perf_counter() - started)
            return
        try:
            await self._serve(family, scope, client, principal, incoming, started)
        finally:
            if admitted:  # holds a concurrency slot: given back however the request ended
                self._limiter.release(principal)

    async def _serve(
        self,
        family: Family,
        scope: Scope,
        client: ClientSide,
        principal: Principal,
        incoming: IncomingHeaders,
        started: float,
    ) -> None:
        """Route an authenticated, admitted request and forward it (or answer it here)."""
        request_id = incoming.request_id
        asked = _Asked(scope, client, principal, incoming.content_length, request_id)
        try:
            routed = await _ROUTERS[family](self, asked)
        except REFUSED as exc:
            await self._refused(client, exc, request_id, started)
            return
        if isinstance(routed, int):  # answered here (a model list, health, version)
            self._metrics.answered(UNROUTED, routed, time.perf_counter() - started)
            return
        route, client = routed.route, routed.client
        if routed.queued:
            assert self._intake is not None  # `queued` is only set with an intake
            answer = await self._intake.submit(
                principal, route, asked.method, routed.forward_path, routed.body,
                intake_headers(scope["headers"]), request_id,
            )  # fmt: skip
            await respond_json(
                client, answer.status, answer.body_json, request_id, list(answer.headers)
            )
            self._metrics.answered(route.name, answer.status, time.perf_counter() - started)
            return
        forward = incoming.forward
        if routed.reads_answer:
            forward = ReshapingClient.identity_encoding(forward)  # the answer is read, not relayed
        body, tap = routed.body, None
        if self._meter is not None:
            body, tap = tapped(asked.method, body, routed.forward_path)
        request = ProxyRequest(asked.method, routed.forward_path, body, forward, request_id, tap)
        await self._forward(route, request, client, started)

    async def _forward(
        self, route: EndpointRoute, request: ProxyRequest, client: ClientSide, started: float
    ) -> None:
        metrics, load, endpoint_id, name = self._metrics, self.load, route.endpoint_id, route.name
        metrics.started(name)
        load.started(endpoint_id)  # held requests too: they are the demand that wakes a replica
        status = 502  # what the client sees if the proxy raises (connection cut mid-response)
        try:
            if not route.replicas:  # running, nothing READY yet (e.g. at zero): wait for one
                held = await self._holder.hold(route, client, request.request_id)
                if isinstance(held, Answered):
                    status = held.status
                    return
                route = held
            status = await self._proxy.forward(route, request, client)
        finally:
            elapsed = time.perf_counter() - started
            metrics.finished(name, status, elapsed)
            load.finished(endpoint_id)
            if self._meter is not None:
                self._meter.record(route, status, elapsed, request.tap)

    async def _refused(
        self, client: ClientSide, exc: Exception, request_id: str, started: float
    ) -> None:
        status = await refuse(client, exc, request_id, self._max_body)
        self._metrics.answered(UNROUTED, status, time.perf_counter() - started)

    # --- one router per URL family: the endpoint, body and path, or the status answered ----
    async def _by_name(self, asked: _Asked) -> _Routed | int:
        name, forward_path = _split_endpoint_path(asked.scope)
        route = self._resolve(asked.principal, name)
        async_path = split_async_path(forward_path)
        if async_path is not None:  # /endpoints/{name}/async/{path}
            self._require_intake(asked.method, name)
        body = await asked.read_body(self._max_body)
        if async_path is not None:
            return _Routed(route, body, async_path, asked.client, queued=True)
        return _Routed(route, body, forward_path, asked.client)

    async def _model_in_body(self, asked: _Asked) -> _Routed | int:
        if asked.method != "POST":
            raise MethodNotAllowed(f"{asked.path} takes POST")
        forward_path = with_query(raw_path(asked.scope), asked.scope)
        body = await asked.read_body(self._max_body)
        route = self._resolve(asked.principal, parse_model(body, self._max_depth)[1])
        return _Routed(route, body, forward_path, asked.client)

    async def _model_list(self, asked: _Asked) -> _Routed | int:
        principal = asked.principal
        native = [(r.name, r) for r in self._routes.endpoints(principal.project_id)]
        wanted = asked.path[len(MODELS_PATH) + 1 :] or None
        await self._models.answer(principal, native, wanted, asked.request_id, asked.client)
        return 200

    async def _dialect(self, asked: _Asked) -> _Routed | int:
        dialect = parse_dialect_path(asked.scope)
        principal, client, request_id = asked.principal, asked.client, asked.request_id
        if dialect.kind is Kind.MODELS:
            listing = dialect_paths.listed_models(self._routes, principal, dialect.dialect)
            await self._models.answer(principal, listing, dialect.model, request_id, client)
            return 200
        if dialect.kind is Kind.HEALTH or dialect.kind is Kind.VERSION:
            if asked.method != "GET":
                raise MethodNotAllowed(f"{asked.path} takes GET")
            await respond_json(client, 200, _SERVER_INFO[dialect.kind], request_id)
            return 200
        reshaping: ReshapingClient | None = None
        if dialect.operation in engine_routes.TRANSLATED:
            # Armed once the engine is known: only an engine with a translation reshapes.
            client = reshaping = ReshapingClient(client, dialect.operation)
        route, body, forward_path = await self._dialect_route(
            principal, dialect, asked.method, asked.declared, client
        )
        queued = (
            dialect.kind is Kind.BY_ID
            and self._intake is not None
            and is_async_target(route, asked.method, forward_path)
        )
        reads_answer = (reshaping is not None and reshaping.armed) or isinstance(
            client, NativeClient
        )
        return _Routed(route, body, forward_path, client, queued, reads_answer)

    async def _unrouted(self, asked: _Asked) -> _Routed | int:
        raise NotFound(f"no gateway route for {asked.path}")

    def _require_intake(self, method: str, name: str) -> None:
        if self._intake is None:
            raise NotFound("asynchronous invocations are not enabled on this server")
        if method != "POST":
            raise MethodNotAllowed(f"{ENDPOINTS_PREFIX}{name}/async/... takes POST")

    def _authenticate(self, incoming: IncomingHeaders, method: str) -> Principal:
        """In a worker thread (a cache miss reads the store); Unauthorized if it fails.
        Without Authorization, a dashboard session cookie stands for its token (Forbidden:
        a change without its X-CSRF-Token)."""
        if incoming.duplicate:
            raise Unauthorized(f"send one {incoming.duplicate} header, not several")
        authorization = incoming.authorization
        cookie = cookie_value(incoming.cookie) if authorization is None else None
        if cookie and self._sessions is not None:
            authorization = self._sessions.authorization(cookie, incoming.csrf, method)
        return self._auth.authenticate(authorization)

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
            raise MethodNotAllowed(f"{request.forward_path} takes POST")
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
            raise MethodNotAllowed(f"{DEEPINFRA_NATIVE_PREFIX}{{model}} takes POST")
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


@dataclass(frozen=True, slots=True)
class _Asked:
    """An authenticated request, as the routers read it."""

    scope: Scope
    client: ClientSide
    principal: Principal
    declared: int | None  # content-length, if sent
    request_id: str

    @property
    def path(self) -> str:
        path: str = self.scope["path"]
        return path

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    async def read_body(self, limit: int) -> bytes:
        return await self.client.read_body(self.declared, limit)


@dataclass(frozen=True, slots=True)
class _Routed:
    """Where a request goes: the endpoint, the body and path to send, the client to answer."""

    route: EndpointRoute
    body: bytes
    forward_path: str
    client: ClientSide  # maybe wrapped: a reshaping or DeepInfra-native client
    queued: bool = False  # handed to the async intake instead of a replica
    reads_answer: bool = False  # the answer is read and rewritten: ask for it unencoded


_Router = Callable[[Gateway, _Asked], Awaitable[_Routed | int]]
_ROUTERS: dict[Family, _Router] = {
    Family.BY_NAME: Gateway._by_name,
    Family.MODEL_IN_BODY: Gateway._model_in_body,
    Family.MODELS: Gateway._model_list,
    Family.DIALECT: Gateway._dialect,
    Family.UNROUTED: Gateway._unrouted,
    Family.METRICS: Gateway._unrouted,  # answered before auth; never reaches a router
}


def create_gateway(
    store: Store,
    authenticator: Authenticator,
    route_table: RouteTable,
    balancer: Balancer,
    metrics: GatewayMetrics,
    settings: Settings,
    async_intake: AsyncIntake | None = None,
    on_demand: DemandHook = no_demand_hook,
    sessions: SessionCookies | None = None,
    meter: UsageMeter | None = None,
) -> Gateway:
    """The gateway ASGI app; the caller runs its `startup()` / `shutdown()`.

    `async_intake` takes queued invocations (gateway/async_hook.py); `on_demand(endpoint_id)` is
    told when a request waits for an endpoint's first READY replica (gateway/hold.py)."""
    return Gateway(
        store, authenticator, route_table, balancer, metrics, settings, async_intake, on_demand,
        sessions, meter,
    )  # fmt: skip
