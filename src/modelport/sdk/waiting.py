"""wait_ready's decisions, shared by the sync and async clients (they only differ in sleeping)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from enum import Enum

from modelport.domain.states import DesiredState, EndpointPhase
from modelport.schemas.native import EndpointPublic, EventList, EventPublic
from modelport.sdk import calls
from modelport.sdk.errors import (
    EndpointFailedError,
    EndpointNotReadyError,
    EndpointStoppedError,
    WaitTimeoutError,
)

EVENTS_SHOWN = 10  # events attached to a wait error
_EVENT_PAGE = 1000
_MAX_EVENT_PAGES = 50  # bounds the catch-up on an endpoint with a very long history

# Idle (scaled to zero) serves too: the gateway holds the next request while a replica starts.
_SERVING = frozenset({EndpointPhase.READY, EndpointPhase.IDLE})
_NOT_COMING_UP = frozenset({EndpointPhase.STOPPING, EndpointPhase.STOPPED, EndpointPhase.DELETING})


class Verdict(Enum):
    """What one observation of the endpoint means for the wait."""

    WAITING = "waiting"  # keep polling
    READY = "ready"  # done
    FAILED = "failed"  # replicas keep failing
    STOPPED = "stopped"  # stopped or deleting: it will not come up by itself
    TIMED_OUT = "timed_out"  # the deadline passed


class ReadyWatch:
    def __init__(self, timeout: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._deadline = monotonic() + timeout
        self.timeout = timeout

    def verdict(self, endpoint: EndpointPublic) -> Verdict:
        if endpoint.phase in _SERVING:
            return Verdict.READY
        if endpoint.phase is EndpointPhase.FAILED:
            return Verdict.FAILED
        if endpoint.desired_state is not DesiredState.RUNNING or endpoint.phase in _NOT_COMING_UP:
            return Verdict.STOPPED
        if self._monotonic() >= self._deadline:
            return Verdict.TIMED_OUT
        return Verdict.WAITING

    def sleep_for(self, poll: float) -> float:
        """How long to sleep before the next poll: never past the deadline (plus a hair)."""
        return max(0.0, min(poll, self._deadline - self._monotonic())) + 0.001

    def error(
        self, verdict: Verdict, endpoint: EndpointPublic, events: Sequence[EventPublic]
    ) -> EndpointNotReadyError:
        name = endpoint.name
        counts = endpoint.replicas
        status = f"phase {endpoint.phase.value}, {counts.ready}/{counts.desired} replicas ready"
        last = f"; last event: {events[-1].message}" if events else ""
        if verdict is Verdict.FAILED:
            message = f"endpoint {name!r} failed ({status}){last}"
            return EndpointFailedError(message, endpoint, events)
        if verdict is Verdict.STOPPED:
            message = (
                f"endpoint {name!r} will not become ready: it is "
                f"{endpoint.desired_state.value} ({status}); start it with `modelport start {name}`"
            )
            return EndpointStoppedError(message, endpoint, events)
        message = f"endpoint {name!r} not ready after {self.timeout:g}s ({status}){last}"
        return WaitTimeoutError(message, endpoint, events)


class EventTail:
    """Pages through an endpoint's events and keeps the latest few."""

    def __init__(self, name: str, keep: int = EVENTS_SHOWN) -> None:
        self._name = name
        self._after_id = 0
        self._pages = 0
        self.latest: deque[EventPublic] = deque(maxlen=keep)

    def next_call(self) -> calls.ApiCall[EventList] | None:
        """The next page to fetch, or None when caught up."""
        if self._pages >= _MAX_EVENT_PAGES:
            return None
        return calls.events(self._name, self._after_id, _EVENT_PAGE)

    def add(self, page: EventList) -> bool:
        """Keep a page; True while more pages may follow."""
        self._pages += 1
        self.latest.extend(page.items)
        if page.items:
            self._after_id = page.items[-1].id
        return len(page.items) >= _EVENT_PAGE
