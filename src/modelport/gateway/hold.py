"""Holding requests for an endpoint with no READY replica (Knative's activator, in process).

An endpoint that runs but has no READY replica (scaled to zero, just created, all restarting)
keeps its route with empty `replicas`. Its requests are not refused: the gateway counts each as
demand (it is in flight in `LoadReporter`), calls `on_demand(endpoint_id)` at once (the server
wires the controller's poke, so a replica starts without waiting for a tick), and waits on the
route table until a READY replica is there, then forwards it as usual (streaming included).
Every request arriving meanwhile waits for the same swap, so one replica serves them all.

A wait ends early when:
- the route says no replica can start (`EndpointRoute.unavailable`: crash loop, no capacity):
  503 at once with that reason, for held requests and new ones alike;
- the endpoint stops running (stopped or deleted while held): 404, as a new request would get;
- the client leaves: nothing to answer; the request stops counting as in flight.
Otherwise `hold_timeout` answers 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from modelport.gateway.asgi import Receive
from modelport.gateway.downstream import ClientSide
from modelport.gateway.metrics import CLIENT_CLOSED, GatewayMetrics
from modelport.gateway.responses import respond_error
from modelport.gateway.routes import EndpointRoute, RouteTable
from modelport.gateway.upstream import ClientLeft

if TYPE_CHECKING:
    from modelport.gateway.upstream import UpstreamConnection

DemandHook = Callable[[int], None]  # endpoint id: a request waits for its first READY replica

RETRY_AFTER_TIMEOUT = b"5"  # the replica may be a moment away: ask again soon
RETRY_AFTER_UNAVAILABLE = b"30"  # crash loop or no capacity: a fix takes a while


def no_demand_hook(endpoint_id: int) -> None:
    """Nobody to tell (a gateway without a controller in its process)."""


class HoldOutcome(StrEnum):
    """How a hold ended (the `outcome` label of modelport_gateway_holds)."""

    SERVED = "served"  # a READY replica came: proxied as usual
    TIMEOUT = "timeout"  # none within hold_timeout: 503 + Retry-After
    UNAVAILABLE = "unavailable"  # crash loop or no capacity: 503 at once, with the reason
    STOPPED = "stopped"  # the endpoint stopped meanwhile: 404
    LEFT = "left"  # the client went first


@dataclass(frozen=True, slots=True)
class Answered:
    """The hold ended with an answer the gateway wrote itself (or nobody left to answer)."""

    status: int
    outcome: HoldOutcome


class Holder:
    def __init__(
        self,
        routes: RouteTable,
        timeout: float,
        on_demand: DemandHook,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self._routes = routes
        self._timeout = timeout
        self._on_demand = on_demand
        self._metrics = metrics or GatewayMetrics()

    async def hold(
        self, route: EndpointRoute, client: ClientSide, request_id: str
    ) -> EndpointRoute | Answered:
        """`route` (no READY replica) once it has one, or the answer already sent instead."""
        self._metrics.hold_started(route.name)
        outcome = HoldOutcome.LEFT  # if this task is cancelled: the client went
        try:
            answer = await self._hold(route, client, request_id)
            outcome = answer.outcome if isinstance(answer, Answered) else HoldOutcome.SERVED
            return answer
        finally:
            self._metrics.hold_ended(route.name, outcome)

    async def _hold(
        self, route: EndpointRoute, client: ClientSide, request_id: str
    ) -> EndpointRoute | Answered:
        if route.unavailable is None:
            self._on_demand(route.endpoint_id)
            try:
                found = await self._wait(route.endpoint_id, client)
            except TimeoutError:
                await respond_error(
                    client, 503,
                    f"endpoint '{route.name}' has no ready replica after {self._timeout:g} s; "
                    "retry later", "service_unavailable", "hold_timeout", request_id,
                    [(b"retry-after", RETRY_AFTER_TIMEOUT)],
                )  # fmt: skip
                return Answered(503, HoldOutcome.TIMEOUT)
            except ClientLeft:
                return Answered(CLIENT_CLOSED, HoldOutcome.LEFT)
            if found is None:
                await respond_error(
                    client, 404, f"endpoint '{route.name}' stopped while the request waited",
                    "invalid_request_error", "not_found", request_id,
                )  # fmt: skip
                return Answered(404, HoldOutcome.STOPPED)
            if found.replicas:
                return found
            route = found
        await respond_error(
            client, 503, f"endpoint '{route.name}' cannot start a replica: {route.unavailable}",
            "service_unavailable", "endpoint_unavailable", request_id,
            [(b"retry-after", RETRY_AFTER_UNAVAILABLE)],
        )  # fmt: skip
        return Answered(503, HoldOutcome.UNAVAILABLE)

    async def _wait(self, endpoint_id: int, client: ClientSide) -> EndpointRoute | None:
        """The route table's answer; TimeoutError after the hold timeout, ClientLeft if the
        client goes first."""
        departure = _Departure(client)
        waiting = asyncio.ensure_future(self._routes.wait_for_replicas(endpoint_id))
        try:
            either: set[asyncio.Future[Any]] = {waiting, departure.left}
            done, _ = await asyncio.wait(
                either, timeout=self._timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if waiting in done:
                return waiting.result()
            if departure.left in done:
                raise ClientLeft
            raise TimeoutError
        finally:
            waiting.cancel()
            departure.close(client)


class _Departure:
    """Resolves `left` when the client goes, through `ClientSide.watch`, the seam the proxy
    uses for the same purpose: the fast path calls `client_gone()` on what it watches; the
    ASGI client hands over its `receive`, listened on here for `http.disconnect`."""

    __slots__ = ("_listener", "left", "receive")

    def __init__(self, client: ClientSide) -> None:
        loop = asyncio.get_running_loop()
        self.left: asyncio.Future[None] = loop.create_future()
        self.receive: Receive | None = None
        self._listener: asyncio.Task[None] | None = None
        # Duck-typed: watch() reads only `receive` and calls only `client_gone()`.
        try:
            client.watch(cast("UpstreamConnection", self))
        except ClientLeft:
            self.client_gone()  # gone already
        if self.receive is not None:
            self._listener = loop.create_task(self._listen(self.receive))

    async def _listen(self, receive: Receive) -> None:
        with contextlib.suppress(Exception):  # the server's receive failed: nothing to watch
            while (await receive())["type"] != "http.disconnect":
                pass
        self.client_gone()

    def client_gone(self) -> None:
        if not self.left.done():
            self.left.set_result(None)

    def close(self, client: ClientSide) -> None:
        client.watch(None)
        if self._listener is not None:
            self._listener.cancel()
