"""What this gateway process sees of each endpoint's load, for the autoscaler.

Per endpoint id: requests in flight now (proxied, or held while a replica starts) and requests
completed since the previous `collect`. Counting is two dict updates per request on the event
loop (no lock, no store write); the autoscaler's loop calls `collect(now)` every second or so
and feeds the reports to its `MetricsWindow`. Each gateway process reports under its own stable
`reporter` id, so the window sums several processes correctly.
"""

from __future__ import annotations

import uuid

from modelport.autoscaler.window import GatewayReport


class LoadReporter:
    __slots__ = ("_completed", "_in_flight", "reporter")

    def __init__(self, reporter: str | None = None) -> None:
        self.reporter = reporter or f"gateway-{uuid.uuid4().hex[:12]}"
        self._in_flight: dict[int, int] = {}
        self._completed: dict[int, int] = {}

    def started(self, endpoint_id: int) -> None:
        in_flight = self._in_flight
        in_flight[endpoint_id] = in_flight.get(endpoint_id, 0) + 1
        self._completed.setdefault(endpoint_id, 0)

    def finished(self, endpoint_id: int) -> None:
        """A request counted by `started` ended, however (answered, failed, client gone)."""
        self._in_flight[endpoint_id] -= 1
        self._completed[endpoint_id] += 1

    def in_flight(self, endpoint_id: int) -> int:
        return self._in_flight.get(endpoint_id, 0)

    def collect(self, now: float) -> list[GatewayReport]:
        """One report per endpoint seen since the previous call; `now` is monotonic seconds.

        An endpoint that went quiet is reported once more with zeros (so the window sees its
        load drop at once, not when this source ages out), then forgotten until it is busy again.
        """
        reports = [
            GatewayReport(self.reporter, str(endpoint_id), now, self._in_flight[endpoint_id], done)
            for endpoint_id, done in self._completed.items()
        ]
        idle = [e for e, done in self._completed.items() if not done and not self._in_flight[e]]
        for endpoint_id in idle:
            del self._in_flight[endpoint_id]
            del self._completed[endpoint_id]
        for endpoint_id in self._completed:
            self._completed[endpoint_id] = 0
        return reports
