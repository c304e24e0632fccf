"""Readiness and liveness probes, with per-replica consecutive success / failure counters.

A probe never holds up a tick: one that is due is started as a task (at most one in flight per
replica and probe kind) and the tick reads only finished outcomes, counted when the first tick
after their end harvests them. A probe's timeout (up to 600 s) bounds its task, and one still
running at its timeout counts as a failure. Outcomes of a process that was replaced or forgotten
are dropped with their task.

Counters live in memory only: after a control-plane restart, or a lost lease, they start from
zero, which is safe (a READY replica stays READY until it fails `failure_threshold` probes in a
row).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial

import aiohttp

from modelport.clock import Clock
from modelport.domain.errors import ModelportError
from modelport.domain.launch import LaunchPlan
from modelport.domain.records import Replica, ReplicaHandle
from modelport.domain.specs import ProbeProtocol, ProbeSpec
from modelport.domain.states import ReplicaState
from modelport.runtime.base import RuntimeBackend

log = logging.getLogger(__name__)

# Past its own timeout a check is cut off this much later: each check ends itself at its
# timeout (HTTP, TCP, the runtime's exec), so this only bounds one that overruns.
_OVERRUN_SECONDS = 1.0


class ProbeKind(StrEnum):
    """Which probe of a replica; each kind has at most one attempt in flight."""

    READINESS = "readiness"  # gates traffic
    LIVENESS = "liveness"  # a READY replica that fails it is restarted


@dataclass(frozen=True)
class ResolvedProbes:
    """The probes a replica runs: the spec's where given, else the engine's defaults."""

    readiness: ProbeSpec
    liveness: ProbeSpec

    @classmethod
    def of(cls, plan: LaunchPlan) -> ResolvedProbes:
        # The adapter already merged the spec's probes over its defaults (e.g. an HTTP probe
        # without a path gets the engine's health route), so the plan's are the ones to run.
        return cls(plan.readiness, plan.liveness)


@dataclass(frozen=True)
class ProbeOutcome:
    ok: bool
    detail: str  # what happened, for events ("GET /health: 503", "connection refused")


@dataclass(frozen=True)
class ProbeVerdict:
    readiness_passed: bool = False  # success_threshold successes in a row, or disabled
    readiness_failed: bool = False  # failure_threshold failures in a row
    liveness_failed: bool = False  # failure_threshold failures in a row; never when disabled
    detail: str = ""  # the latest failure


@dataclass
class _Counter:
    successes: int = 0
    failures: int = 0
    last_run: float | None = None  # monotonic seconds when the latest attempt began
    detail: str = ""
    running: asyncio.Task[ProbeOutcome] | None = None  # the attempt in flight

    def harvest(self) -> None:
        """Count the attempt in flight if it has finished."""
        task = self.running
        if task is None or not task.done():
            return
        self.running = None
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("%s failed", task.get_name(), exc_info=error)
            self._count(ProbeOutcome(False, f"probe error: {type(error).__name__}"))
        else:
            self._count(task.result())

    def _count(self, outcome: ProbeOutcome) -> None:
        if outcome.ok:
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.successes, self.failures = 0, self.failures + 1
            self.detail = outcome.detail


@dataclass
class _Tracked:
    handle: ReplicaHandle  # counters belong to one process; a new handle starts afresh
    readiness: _Counter = field(default_factory=_Counter)
    liveness: _Counter = field(default_factory=_Counter)

    def tasks(self) -> Iterator[asyncio.Task[ProbeOutcome]]:
        for counter in (self.readiness, self.liveness):
            if counter.running is not None:
                yield counter.running


class ProbeRunner:
    """Starts the probes that are due (honouring period and initial delay) in the background
    and keeps counters of their finished outcomes."""

    def __init__(
        self,
        runtime: RuntimeBackend,
        clock: Clock,
        unseal: Callable[[str], str] = str,
        on_news: Callable[[], None] = lambda: None,
    ) -> None:
        self._runtime = runtime
        self._clock = clock
        self._unseal = unseal  # opens a handle's sealed replica key
        # Called when an attempt ends with an outcome that may move its replica (a STARTING one
        # passed readiness, a READY one failed a probe): the loop counts it without waiting a
        # tick, which is most of a cold start's overhead.
        self._on_news = on_news
        self._tracked: dict[int, _Tracked] = {}
        self._ending: set[asyncio.Task[ProbeOutcome]] = set()  # cancelled, not yet ended
        self._session: aiohttp.ClientSession | None = None

    def verdict(self, replica: Replica, probes: ResolvedProbes) -> ProbeVerdict:
        """For a STARTING or READY replica whose process runs: count the probes that have
        finished, start those that are due, and judge by what has finished. Never waits on a
        probe. Liveness only once READY: model loading can take long, and the startup timeout
        covers a replica that hangs."""
        assert replica.handle is not None
        tracked = self._tracked.get(replica.id)
        if tracked is None or tracked.handle != replica.handle:
            if tracked is not None:
                self._cancel(tracked)  # the old process's outcomes say nothing about the new one
            tracked = self._tracked[replica.id] = _Tracked(replica.handle)
        readiness = probes.readiness
        if readiness.enabled:
            self._advance(replica, readiness, tracked.readiness, ProbeKind.READINESS)
        live_failed = False
        liveness = probes.liveness
        if liveness.enabled and replica.state is ReplicaState.READY:
            self._advance(replica, liveness, tracked.liveness, ProbeKind.LIVENESS)
            live_failed = tracked.liveness.failures >= liveness.failure_threshold
        return ProbeVerdict(
            readiness_passed=(
                not readiness.enabled or tracked.readiness.successes >= readiness.success_threshold
            ),
            readiness_failed=(
                readiness.enabled and tracked.readiness.failures >= readiness.failure_threshold
            ),
            liveness_failed=live_failed,
            detail=tracked.liveness.detail if live_failed else tracked.readiness.detail,
        )

    def forget(self, replica_id: int) -> None:
        """Drop the replica's counters and cancel its probes in flight."""
        tracked = self._tracked.pop(replica_id, None)
        if tracked is not None:
            self._cancel(tracked)

    def forget_all_but(self, replica_ids: set[int]) -> None:
        for gone in set(self._tracked) - replica_ids:
            self.forget(gone)

    def abandon(self) -> None:
        """Cancel every probe and drop every counter (the lease is lost or given up): whoever
        leads next counts from zero."""
        for replica_id in list(self._tracked):
            self.forget(replica_id)

    async def wait(self) -> None:
        """Until every probe started so far has ended (each is bounded by its timeout)."""
        tasks = [task for tracked in self._tracked.values() for task in tracked.tasks()]
        await asyncio.gather(*tasks, *self._ending, return_exceptions=True)

    async def close(self) -> None:
        """Shutdown: cancel the probes in flight, then close the HTTP session they share."""
        self.abandon()
        await self.wait()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def check(self, handle: ReplicaHandle, probe: ProbeSpec) -> ProbeOutcome:
        """One probe attempt against a replica's process."""
        port = probe.port or handle.port
        if probe.protocol is ProbeProtocol.HTTP:
            # The engine requires the replica's key of every request, probes included; the
            # key goes to the replica's own port only, never to another a probe names.
            sealed = handle.sealed_key if port == handle.port else None
            headers = {} if sealed is None else {
                "Authorization": f"Bearer {self._unseal(sealed)}"
            }  # fmt: skip
            path = probe.path or "/"
            return await self._http(handle.host, port, path, probe.timeout_seconds, headers)
        if probe.protocol is ProbeProtocol.EXEC:
            return await self._exec(handle, probe)
        # GRPC: checked as a TCP connect until a gRPC health client exists.
        return await self._tcp(handle.host, port, probe.timeout_seconds)

    def _cancel(self, tracked: _Tracked) -> None:
        for task in tracked.tasks():
            task.cancel()
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)

    def _advance(
        self, replica: Replica, probe: ProbeSpec, counter: _Counter, kind: ProbeKind
    ) -> None:
        counter.harvest()
        if counter.running is not None:
            return  # at most one attempt in flight: a slow probe is not stacked up
        since_state = (self._clock.now() - replica.state_changed_at).total_seconds()
        if since_state < probe.initial_delay_seconds:
            return
        now = self._clock.monotonic()
        if counter.last_run is not None and now - counter.last_run < probe.period_seconds:
            return
        assert replica.handle is not None
        counter.last_run = now
        counter.running = task = asyncio.create_task(
            self._attempt(replica.handle, probe), name=f"{kind} probe of replica {replica.id}"
        )
        serving = replica.state is ReplicaState.READY
        task.add_done_callback(partial(self._ended, kind is ProbeKind.READINESS and not serving))

    def _ended(self, news_if_ok: bool, task: asyncio.Task[ProbeOutcome]) -> None:
        """A finished attempt is news when it passed a probe that was failing the replica, or
        failed one of a READY replica."""
        if task.cancelled():
            return
        ok = task.exception() is None and task.result().ok
        if ok == news_if_ok:
            self._on_news()

    async def _attempt(self, handle: ReplicaHandle, probe: ProbeSpec) -> ProbeOutcome:
        try:
            async with asyncio.timeout(probe.timeout_seconds + _OVERRUN_SECONDS):
                return await self.check(handle, probe)
        except TimeoutError:
            return ProbeOutcome(False, f"no answer within {probe.timeout_seconds:g}s")

    async def _http(
        self, host: str, port: int, path: str, timeout: float, headers: dict[str, str]
    ) -> ProbeOutcome:
        if self._session is None:
            # No cap on connections (aiohttp's default is 100): probes run side by side, and
            # hung ones must not make others wait for a slot until they time out.
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        url = f"http://{_host_in_url(host)}:{port}{path}"
        try:
            async with self._session.get(
                url,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
                headers=headers,
            ) as resp:
                return ProbeOutcome(resp.status < 400, f"GET {path}: HTTP {resp.status}")
        except TimeoutError:
            return ProbeOutcome(False, f"GET {path}: no answer within {timeout:g}s")
        except (aiohttp.ClientError, OSError) as exc:
            return ProbeOutcome(False, f"GET {path}: {type(exc).__name__}")

    @staticmethod
    async def _tcp(host: str, port: int, timeout: float) -> ProbeOutcome:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            return ProbeOutcome(False, f"TCP {port}: no connection within {timeout:g}s")
        except OSError as exc:
            return ProbeOutcome(False, f"TCP {port}: {exc.strerror or type(exc).__name__}")
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return ProbeOutcome(True, f"TCP {port}: connected")

    async def _exec(self, handle: ReplicaHandle, probe: ProbeSpec) -> ProbeOutcome:
        what = f"exec {probe.commands[0]}"
        try:
            ok = await self._runtime.exec_probe(handle, probe.commands, probe.timeout_seconds)
        except (ModelportError, OSError) as exc:
            return ProbeOutcome(False, f"{what}: {exc}")
        return ProbeOutcome(ok, f"{what}: {'exit 0' if ok else 'failed'}")


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host
