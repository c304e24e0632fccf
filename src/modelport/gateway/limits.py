"""Per-token request limits at the gateway: requests per minute and requests in flight.

The limits are the token's project's (`Principal.limits`, set by the server admin and cached
with the principal by the Authenticator), so a token whose project sets neither limit skips
this module entirely.

- Requests per minute: a token bucket per token holding up to a minute's worth of requests
  (`requests_per_minute`), refilled continuously at that rate. An empty bucket answers 429 with
  Retry-After: the seconds until the next request is allowed.
- Concurrent requests: a count per token of requests admitted and not yet finished; at the
  limit, 429 with Retry-After: 1. The gateway releases a request's slot in a `finally`, so every
  exit (answered, client gone, upstream error, stream cut) gives it back.

A refused request takes nothing from the bucket, so retrying early does not push recovery back.

The state is the server's, not a process's: with several gateway processes
(`--gateway-workers N`) it lives in their shared segment (gateway/token_table.py: one bucket
per token, in-flight counted per process and summed), so a token gets its limits once per
server whichever processes its connections land on. A check holds the segment's lock for a
few microseconds; only tokens with limits take it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from modelport.gateway.token_table import UNIT, TokenTable
from modelport.services.auth import Principal

log = logging.getLogger("modelport.gateway.limits")


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a request is refused (429) and when to try again."""

    message: str
    code: str
    retry_after: int  # seconds


class RequestLimiter:
    """`admit` before serving a request of a token with limits; `release` when it is over if
    `admit` said the request holds a slot.

    `table`: the shared token table of this process (several gateway processes), else a
    private one."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, table: TokenTable | None = None
    ) -> None:
        self._clock = clock
        self._table = table or TokenTable.private()
        self._full_logged = False

    def admit(self, principal: Principal) -> Refusal | bool:
        """A Refusal, or whether the admitted request holds a concurrency slot to release."""
        limits = principal.limits
        per_minute = limits.requests_per_minute
        concurrent = limits.concurrent_requests
        table = self._table
        now = int(self._clock() * 1e9)
        with table.lock:
            row = table.claim(principal.token_id, per_minute or 0, now)
            if row < 0:
                return self._table_full()
            if concurrent is not None and table.in_flight(row) >= concurrent:
                return Refusal(
                    f"this token already has {concurrent} requests in flight, its project's limit",
                    "concurrency_limit_exceeded",
                    1,
                )
            if per_minute:
                if table.per_minute(row) != per_minute:  # a new limit starts with a full bucket
                    table.fill(row, per_minute, now)
                tokens = table.tokens(row, per_minute, now)
                if tokens < UNIT:
                    wait = -(-(UNIT - tokens) * 60 // (per_minute * UNIT))  # ceiling
                    return Refusal(
                        f"this token made {per_minute} requests in the last minute, its "
                        "project's limit",
                        "rate_limit_exceeded",
                        max(1, wait),
                    )
                table.set_tokens(row, tokens - UNIT, now)
            if concurrent is None:
                return False
            table.started(row)
        return True

    def release(self, principal: Principal) -> None:
        # No lock: only this process writes its column, and the row cannot be reused while
        # this request counts in it.
        row = self._table.find(principal.token_id)
        if row >= 0:
            self._table.finished(row)

    def in_flight(self, token_id: int) -> int:
        """The token's requests in flight, over every gateway process."""
        row = self._table.find(token_id)
        return self._table.in_flight(row) if row >= 0 else 0

    def _table_full(self) -> bool:
        """More tokens with limits busy at once than the table holds: admitted, not counted."""
        if not self._full_logged:
            self._full_logged = True
            log.warning("the per-token limit table is full: some requests are not limited")
        return False
