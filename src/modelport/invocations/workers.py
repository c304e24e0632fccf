"""Workers: claim queued invocations, call a replica through the gateway's proxy, write the
result, then mark the row done.

One pool per server process. Each row is worked under its own lease in the store (a claim is a
compare-and-set), so any number of servers may run pools and two never work one row; a row
whose worker or server died is claimed again once its lease lapses (at-least-once). Per
endpoint at most `async_config.concurrent_workers` rows are in flight here, and nothing is
claimed while the endpoint has no READY replica, so waiting for capacity burns no attempt
(queued work is demand: the autoscaler wakes an endpoint at zero for it).

Order of one attempt: renew the lease, then write the result file (write-once, see
results.py), then finish the row with a compare-and-set on the lease. Replica errors (5xx,
429, a broken connection) are retried with a growing delay up to `async_max_attempts`; a 4xx
is final (FAILED, the answer kept in the result file).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from modelport.clock import Clock
from modelport.domain.errors import ModelportError
from modelport.domain.invocations import Invocation, InvocationStatus
from modelport.domain.records import Endpoint
from modelport.gateway.headers import new_request_id
from modelport.gateway.metering import UsageMeter
from modelport.gateway.metering_tap import UsageTap, tapped
from modelport.gateway.proxy import Proxy, ProxyRequest, UpstreamBroken
from modelport.gateway.routes import EndpointRoute, RouteTable
from modelport.invocations.capture import CapturedResponse
from modelport.services.invocation_results import (
    Answer,
    ResultStore,
    ResultStores,
    final_status,
    response_status_of,
    result_document,
)
from modelport.store.base import Store

log = logging.getLogger("modelport.invocations")

_POLL_SECONDS = 0.5  # a wake() answers new work at once; polling finds retries and lapses
_EXPIRE_EVERY = 10.0  # seconds between TTL sweeps
_RETRY_BASE_SECONDS = 1.0  # doubled per attempt
_NO_REPLICA = b'"no_ready_replica"'  # the proxy's own 503: nobody got the request


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    owner: str  # this pool's lease holder name (unique per server process)
    lease_seconds: float
    max_attempts: int


class InvocationWorkers:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        routes: RouteTable,
        proxy: Proxy,
        results: ResultStores,
        settings: WorkerSettings,
        meter: UsageMeter | None = None,
    ) -> None:
        """`proxy`: built on the gateway's Balancer, so async calls share its balancing and
        in-flight counts (what draining and the autoscaler read). `meter`: the process's
        usage meter, which counts each call a replica answered as the gateway counts live
        requests (tokens from the engine's usage)."""
        self._meter = meter
        self._store = store
        self._clock = clock
        self._routes = routes
        self._proxy = proxy
        self._results = results
        self._settings = settings
        self._wake = asyncio.Event()
        self._active: dict[int, set[asyncio.Task[None]]] = {}
        self._last_expiry = float("-inf")

    def wake(self) -> None:
        """New work was queued: look now instead of at the next poll."""
        self._wake.set()

    def _slot_freed(self, _task: asyncio.Task[None]) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        await self._proxy.startup()
        try:
            while not stop.is_set():
                try:
                    await self._tick()
                except Exception:
                    log.exception("async worker tick failed; trying again")
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(_first(stop, self._wake), _POLL_SECONDS)
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        """Rows in flight are cancelled and handed back (their result, if written, is kept)."""
        tasks = [t for running in self._active.values() for t in running]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._proxy.shutdown()

    async def _tick(self) -> None:
        store = self._store
        if self._clock.monotonic() - self._last_expiry >= _EXPIRE_EVERY:
            self._last_expiry = self._clock.monotonic()
            await asyncio.to_thread(store.expire_invocations, self._clock.now())
        backlog = await asyncio.to_thread(store.invocation_backlog, None)
        if not backlog:
            return
        # Only the endpoints with work queued, read by primary key: a pass costs what is
        # queued, not what exists.
        found = await asyncio.to_thread(store.get_endpoints, list(backlog))
        endpoints = {e.id: e for e in found}
        for endpoint_id in backlog:
            endpoint = endpoints.get(endpoint_id)
            route = self._routes.get(endpoint_id)
            if endpoint is None or route is None or not route.replicas:
                continue  # gone, stopped, or no READY replica yet: leave the rows queued
            running = self._active.setdefault(endpoint_id, set())
            free = endpoint.spec.async_config.concurrent_workers - len(running)
            if free <= 0:
                continue
            claimed = await asyncio.to_thread(
                store.claim_invocations,
                endpoint_id,
                self._settings.owner,
                free,
                lease_seconds=self._settings.lease_seconds,
                now=self._clock.now(),
            )
            for invocation in claimed:
                task = asyncio.create_task(
                    self._work(endpoint, invocation), name=f"invocation-{invocation.id}"
                )
                running.add(task)
                task.add_done_callback(running.discard)
                # A freed slot claims the next row at once, not at the next poll: otherwise
                # each worker idles up to _POLL_SECONDS between short calls.
                task.add_done_callback(self._slot_freed)

    async def _work(self, endpoint: Endpoint, invocation: Invocation) -> None:
        keeper = asyncio.create_task(self._keep_lease(invocation.id))
        try:
            await self._attempt(endpoint, invocation)
        except asyncio.CancelledError:
            await asyncio.shield(self._release(invocation, None, give_back=True))
            raise
        except Exception as exc:
            log.exception("invocation %s: attempt failed", invocation.id)
            detail = exc.message if isinstance(exc, ModelportError) else type(exc).__name__
            error = f"worker error: {detail}"
            if not await self._requeue(invocation, error):
                failed = _gave_up(invocation.attempts, error)
                await self._finish(invocation, InvocationStatus.FAILED, None, None, failed)
        finally:
            keeper.cancel()

    async def _attempt(self, endpoint: Endpoint, invocation: Invocation) -> None:
        results = await asyncio.to_thread(self._results, endpoint)
        written = await asyncio.to_thread(results.read, invocation.result_key)
        if written is not None:  # an earlier attempt wrote it, then died: that answer stands
            await self._record(invocation, results, written)
            return
        if invocation.attempts > self._settings.max_attempts:  # lost its worker too often
            error = _gave_up(invocation.attempts - 1, invocation.error)
            await self._finish(invocation, InvocationStatus.FAILED, None, None, error)
            return
        answer = await self._call(invocation)
        if answer is None:  # no READY replica after all: back in the queue, no attempt used
            await self._release(invocation, None, give_back=True)
            return
        retryable = answer.status >= 500 or answer.status == 429
        if retryable and await self._requeue(invocation, f"the endpoint answered {answer.status}"):
            return
        document = result_document(invocation, answer, self._clock.now())
        await self._record(invocation, results, document)

    async def _call(self, invocation: Invocation) -> Answer | None:
        route = self._routes.get(invocation.endpoint_id)
        if route is None or not route.replicas:
            return None
        body, tap = invocation.body, None
        if self._meter is not None:
            body, tap = tapped(invocation.method, body, invocation.path)
        captured = CapturedResponse(body)
        # Some engines (llama-cpp-python) refuse a request id that is not a UUID: the
        # invocation id goes along as the client's id, as the gateway does for live traffic.
        headers = [
            *invocation.headers,
            ("X-Request-Id", new_request_id()),
            ("X-Client-Request-Id", invocation.id),
        ]
        request = ProxyRequest(
            invocation.method, invocation.path, body, headers, invocation.id, tap
        )
        started = time.perf_counter()
        try:
            status = await self._proxy.forward(route, request, captured)
        except UpstreamBroken:
            self._metered(route, 502, started, None)
            return Answer(502, (), b"the replica broke off its answer")
        if status == 503 and _NO_REPLICA in captured.body:
            return None  # nobody got it: not a request served (the row waits for a replica)
        self._metered(route, status, started, tap)
        headers_text = tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in captured.headers
        )
        return Answer(status, headers_text, captured.body)

    def _metered(
        self, route: EndpointRoute, status: int, started: float, tap: UsageTap | None
    ) -> None:
        if self._meter is not None:
            self._meter.record(route, status, time.perf_counter() - started, tap)

    async def _record(self, invocation: Invocation, results: ResultStore, document: bytes) -> None:
        """Renew, write once, then finish: a worker that lost its lease writes nothing."""
        held = await asyncio.to_thread(
            self._store.renew_invocation_lease,
            invocation.id,
            self._settings.owner,
            lease_seconds=self._settings.lease_seconds,
            now=self._clock.now(),
        )
        if not held:
            log.warning("invocation %s: lease lost; left to its new worker", invocation.id)
            return
        location, stored = await asyncio.to_thread(
            _write_once, results, invocation.result_key, document
        )
        answered = response_status_of(stored)
        status = final_status(answered)
        error = (
            None if status is InvocationStatus.COMPLETED else f"the endpoint answered {answered}"
        )
        await self._finish(invocation, status, answered, location, error)

    async def _requeue(self, invocation: Invocation, error: str) -> bool:
        """Queue it again after a growing delay while attempts remain (True); False when they
        are used up (the caller records the last answer, or fails it)."""
        if invocation.attempts >= self._settings.max_attempts:
            return False
        delay = _RETRY_BASE_SECONDS * 2 ** (invocation.attempts - 1)
        await self._release(
            invocation, error, retry_at=self._clock.now() + timedelta(seconds=delay)
        )
        return True

    async def _finish(
        self,
        invocation: Invocation,
        status: InvocationStatus,
        response_status: int | None,
        location: str | None,
        error: str | None,
    ) -> None:
        done = await asyncio.to_thread(
            self._store.finish_invocation,
            invocation.id,
            self._settings.owner,
            status=status,
            now=self._clock.now(),
            response_status=response_status,
            result_location=location,
            error=error,
        )
        if not done:  # its lease lapsed: whoever has it now finds the result file and marks it
            log.warning("invocation %s: lease lost before marking it %s", invocation.id, status)

    async def _release(
        self,
        invocation: Invocation,
        error: str | None,
        *,
        retry_at: datetime | None = None,
        give_back: bool = False,
    ) -> None:
        with contextlib.suppress(ModelportError, OSError):  # if it fails, the lease lapses
            await asyncio.to_thread(
                self._store.release_invocation,
                invocation.id,
                self._settings.owner,
                available_at=retry_at,
                error=error,
                give_back_attempt=give_back,
            )

    async def _keep_lease(self, invocation_id: str) -> None:
        """Renew the lease while a call runs, so a long generation is not taken over."""
        period = self._settings.lease_seconds / 3
        while True:
            await asyncio.sleep(period)  # a heartbeat period, not synchronisation
            held = await asyncio.to_thread(
                self._store.renew_invocation_lease,
                invocation_id,
                self._settings.owner,
                lease_seconds=self._settings.lease_seconds,
                now=self._clock.now(),
            )
            if not held:
                return


def _write_once(results: ResultStore, key: str, document: bytes) -> tuple[str, bytes]:
    """(location, the document stored): an earlier attempt's if one is there (rewritten with
    the same bytes, only to learn its location), else ours."""
    stored = results.read(key) or document
    return results.write(key, stored), stored


def _gave_up(tries: int, error: str | None) -> str:
    return f"gave up after {tries} attempts; last: {error or 'no answer'}"


async def _first(*events: asyncio.Event) -> None:
    """Return when any of the events is set."""
    waits = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
