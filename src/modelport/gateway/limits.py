"""Per-token request limits at the gateway: requests per minute and requests in flight.

The limits are the token's project's (`Principal.limits`, set by the server admin and cached
with the principal by the Authenticator), so a check is a dict lookup and some arithmetic, and
a token whose project sets neither limit skips this module entirely.

- Requests per minute: a token bucket per token id holding up to a minute's worth of requests
  (`requests_per_minute`), refilled continuously at that rate. An empty bucket answers 429 with
  Retry-After: the seconds until the next request is allowed.
- Concurrent requests: a count per token id of requests admitted and not yet finished; at the
  limit, 429 with Retry-After: 1. The gateway releases a request's slot in a `finally`, so every
  exit (answered, client gone, upstream error, stream cut) gives it back.

A refused request takes nothing from the bucket, so retrying early does not push recovery back.

State is per gateway process. Several gateway processes would each allow the full rate; to
share it, `RequestLimiter` keeps its interface (`admit` / `release`) over a shared store:
each process takes a batch of bucket tokens at a time from a row per token id (an atomic
UPDATE ... RETURNING in PostgreSQL, or Redis), so the hot path still decides in memory, and
counts in-flight requests under a lease that expires with the process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from modelport.services.auth import Principal


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused (429) and when to try again."""

    message: str
    code: str
    retry_after: int  # seconds


@dataclass(slots=True)
class _TokenState:
    per_minute: int | None  # the limit the bucket was filled for (a new one refills it)
    tokens: float  # requests the bucket allows right now
    refilled: float  # monotonic time of the last refill
    in_flight: int = 0


class RequestLimiter:
    """`admit` before serving a request of a token with limits; `release` when it is over if
    `admit` said the request holds a slot."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[int, _TokenState] = {}

    def admit(self, principal: Principal) -> Refusal | bool:
        """A Refusal, or whether the admitted request holds a concurrency slot to release."""
        limits = principal.limits
        per_minute = limits.requests_per_minute
        concurrent = limits.concurrent_requests
        state = self._tokens.get(principal.token_id)
        if state is None or state.per_minute != per_minute:
            full = float(per_minute or 0)
            in_flight = state.in_flight if state is not None else 0
            state = _TokenState(per_minute, full, self._clock(), in_flight)
            self._tokens[principal.token_id] = state
        if concurrent is not None and state.in_flight >= concurrent:
            return Refusal(
                f"this token already has {concurrent} requests in flight, its project's limit",
                "concurrency_limit_exceeded",
                1,
            )
        if per_minute is not None:
            now = self._clock()
            rate = per_minute / 60.0  # per second
            state.tokens = min(float(per_minute), state.tokens + (now - state.refilled) * rate)
            state.refilled = now
            if state.tokens < 1.0:
                wait = math.ceil((1.0 - state.tokens) / rate)
                return Refusal(
                    f"this token made {per_minute} requests in the last minute, its project's "
                    "limit",
                    "rate_limit_exceeded",
                    max(1, wait),
                )
            state.tokens -= 1.0
        if concurrent is None:
            return False
        state.in_flight += 1
        return True

    def release(self, principal: Principal) -> None:
        state = self._tokens.get(principal.token_id)
        if state is not None and state.in_flight > 0:
            state.in_flight -= 1

    def in_flight(self, token_id: int) -> int:
        state = self._tokens.get(token_id)
        return state.in_flight if state is not None else 0
