"""Readiness and liveness probes, with per-replica consecutive success / failure counters.

A probe never holds up a tick: one that is due is started as a task (at most one in flight per
replica and probe kind) that counts its outcome when it ends, and a tick reads the counters. A
probe's timeout (up to 600 s) bounds its task, and one still running at its timeout counts as a
failure. Outcomes of a process that was replaced or forgotten are dropped with their task.

A STARTING replica's readiness does not wait for ticks: its attempts follow one another on their
own, every `startup_interval` (0.1 s by default, or the period if shorter) after the initial
delay, and a success short of `success_threshold` is confirmed a period later, as on a READY
one. The attempt that passes wakes the controller (`on_news`), so a replica that became able to
answer is READY and routed within a tick gap, not up to a tick plus a period later (most of a
scale-from-zero's overhead). At most STARTUP_ATTEMPTS_AT_ONCE such attempts run at once.

Counters live in memory only: after a control-plane restart, or a lost lease, they start from
zero, which is safe (a READY replica stays READY until it fails `failure_threshold` probes in a
row).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from typing import Protocol

from modelport.clock import Clock
from modelport.controller.probe_checks import ProbeChecks, ProbeOutcome
from modelport.domain.launch import LaunchPlan
from modelport.domain.records import Replica, ReplicaHandle
from modelport.domain.specs import ProbeSpec
from modelport.domain.states import ReplicaState
from modelport.runtime.base import RuntimeBackend

__all__ = ["ProbeKind", "ProbeOutcome", "ProbeRunner", "ProbeVerdict", "ResolvedProbes"]

log = logging.getLogger(__name__)

# Past its own timeout a check is cut off this much later: each check ends itself at its
# timeout (HTTP, TCP, the runtime's exec), so this only bounds one that overruns.
_OVERRUN_SECONDS = 1.0
# Seconds between readiness attempts of a STARTING replica (settings.startup_probe_interval).
STARTUP_INTERVAL = 0.1
# A loading engine refuses the connection at once, so a few slots keep many replicas starting
# together (a rollout, a burst from zero) from crowding a small machine's event loop.
STARTUP_ATTEMPTS_AT_ONCE = 8


class ProbeKind(StrEnum):
    """Which probe of a replica; each kind has at most one attempt in flight."""

    READINESS = "readiness"  # gates traffic
    LIVENESS = "liveness"  # a READY replica that fails it is restarted


class Cancellable(Protocol):
    def cancel(self) -> None: ...


# Calls back after a delay in seconds (the event loop's call_later; unit tests fire by hand).
Later = Callable[[float, Callable[[], None]], Cancellable]


def call_later(delay: float, callback: Callable[[], None]) -> Cancellable:
    return asyncio.get_running_loop().call_later(delay, callback)


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
    running: asyncio.Task[None] | None = None  # the attempt in flight
    timer: Cancellable | None = None  # the next attempt of a STARTING replica's readiness

    def count(self, outcome: ProbeOutcome) -> None:
        if outcome.ok:
            self.successes, self.failures = self.successes + 1, 0
        else:
            self.successes, self.failures = 0, self.failures + 1
            self.detail = outcome.detail

    def stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None


@dataclass
class _Tracked:
    handle: ReplicaHandle  # counters belong to one process; a new handle starts afresh
    readiness: _Counter = field(default_factory=_Counter)
    liveness: _Counter = field(default_factory=_Counter)

    def counters(self) -> tuple[_Counter, _Counter]:
        return self.readiness, self.liveness

    def tasks(self) -> Iterator[asyncio.Task[None]]:
        for counter in self.counters():
            if counter.running is not None:
                yield counter.running


@dataclass(frozen=True)
class _Probing:
    """One probe of one replica, as the verdict that started it saw them."""

    tracked: _Tracked
    counter: _Counter
    replica: Replica
    probe: ProbeSpec
    kind: ProbeKind

    @property
    def starting(self) -> bool:
        """Readiness not yet passed: it runs on its own schedule and a pass is news."""
        return self.kind is ProbeKind.READINESS and self.replica.state is not ReplicaState.READY


class ProbeRunner:
    """Starts the probes that are due (honouring period and initial delay) in the background
    and keeps counters of their finished outcomes."""

    def __init__(
        self,
        runtime: RuntimeBackend,
        clock: Clock,
        unseal: Callable[[str], str] = str,
        on_news: Callable[[], None] = lambda: None,
        startup_interval: float = STARTUP_INTERVAL,
        later: Later = call_later,
    ) -> None:
        self._checks = ProbeChecks(runtime, unseal)
        self._clock = clock
        # Called when an attempt ends with an outcome that may move its replica (a STARTING one
        # passed readiness, a READY one failed a probe): the loop counts it without waiting a
        # tick, which is most of a cold start's overhead.
        self._on_news = on_news
        self._startup_interval = startup_interval
        self._later = later
        self._startup_slots = asyncio.Semaphore(STARTUP_ATTEMPTS_AT_ONCE)
        self._tracked: dict[int, _Tracked] = {}
        self._ending: set[asyncio.Task[None]] = set()  # cancelled, not yet ended

    def verdict(self, replica: Replica, probes: ResolvedProbes) -> ProbeVerdict:
        """For a STARTING or READY replica whose process runs: start the probes that are due
        and judge by those that have finished. Never waits on a probe. Liveness only once
        READY: model loading can take long, and the startup timeout covers a replica that
        hangs."""
        assert replica.handle is not None
        tracked = self._tracked.get(replica.id)
        if tracked is None or tracked.handle != replica.handle:
            if tracked is not None:
                self._cancel(tracked)  # the old process's outcomes say nothing about the new one
            tracked = self._tracked[replica.id] = _Tracked(replica.handle)
        readiness = probes.readiness
        if readiness.enabled:
            self._advance(
                _Probing(tracked, tracked.readiness, replica, readiness, ProbeKind.READINESS)
            )
        live_failed = False
        liveness = probes.liveness
        if liveness.enabled and replica.state is ReplicaState.READY:
            self._advance(
                _Probing(tracked, tracked.liveness, replica, liveness, ProbeKind.LIVENESS)
            )
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
        await self._checks.close()

    async def check(self, handle: ReplicaHandle, probe: ProbeSpec) -> ProbeOutcome:
        """One probe attempt against a replica's process."""
        return await self._checks.check(handle, probe)

    def _cancel(self, tracked: _Tracked) -> None:
        for counter in tracked.counters():
            counter.stop_timer()
        for task in tracked.tasks():
            task.cancel()
            self._ending.add(task)
            task.add_done_callback(self._ending.discard)

    def _advance(self, probing: _Probing) -> None:
        """Start the attempt if it is due; a STARTING replica's readiness that is not yet due
        gets a timer for when it is, so it never waits for a tick."""
        counter = probing.counter
        if counter.running is not None:
            return  # at most one attempt in flight: a slow probe is not stacked up
        if not probing.starting:
            counter.stop_timer()
        wait = self._until_due(probing)
        if wait <= 0:
            self._start(probing)
        elif probing.starting and counter.timer is None:
            counter.timer = self._later(wait, partial(self._fire, probing))

    def _until_due(self, probing: _Probing) -> float:
        """Seconds until the next attempt is due (<= 0: now)."""
        probe, counter = probing.probe, probing.counter
        since_state = (self._clock.now() - probing.replica.state_changed_at).total_seconds()
        delay = probe.initial_delay_seconds - since_state
        if counter.last_run is None:
            return delay
        gap = probe.period_seconds
        if probing.starting and counter.successes == 0:
            gap = min(gap, self._startup_interval)
        return max(delay, counter.last_run + gap - self._clock.monotonic())

    def _fire(self, probing: _Probing) -> None:
        probing.counter.timer = None
        if self._tracked.get(probing.replica.id) is probing.tracked:
            self._advance(probing)  # the clock says whether it is due (a fake one may not be)

    def _start(self, probing: _Probing) -> None:
        counter = probing.counter
        counter.stop_timer()
        counter.last_run = self._clock.monotonic()
        name = f"{probing.kind} probe of replica {probing.replica.id}"
        counter.running = asyncio.create_task(self._run(probing, name), name=name)

    async def _run(self, probing: _Probing, name: str) -> None:
        """One attempt, counted when it ends; news wakes the loop, and a STARTING replica's
        readiness that has not passed yet is scheduled again."""
        handle, probe, counter = probing.tracked.handle, probing.probe, probing.counter
        try:
            if probing.starting:
                async with self._startup_slots:
                    outcome = await self._attempt(handle, probe)
            else:
                outcome = await self._attempt(handle, probe)
        except Exception as error:  # a bug in a check: counted as a failure, not lost
            log.error("%s failed", name, exc_info=error)
            outcome = ProbeOutcome(False, f"probe error: {type(error).__name__}")
        counter.running = None
        counter.count(outcome)
        if not probing.starting:
            if not outcome.ok:
                self._on_news()  # a READY replica failed a probe
        elif counter.successes >= probe.success_threshold:
            self._on_news()
        else:
            self._advance(probing)

    async def _attempt(self, handle: ReplicaHandle, probe: ProbeSpec) -> ProbeOutcome:
        try:
            async with asyncio.timeout(probe.timeout_seconds + _OVERRUN_SECONDS):
                return await self._checks.check(handle, probe)
        except TimeoutError:
            return ProbeOutcome(False, f"no answer within {probe.timeout_seconds:g}s")
