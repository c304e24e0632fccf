"""What the gateway tells the autoscaler: each endpoint's load.

Per endpoint id: requests in flight now (proxied, or held while a replica starts) and requests
completed since the previous `collect`. Counting is two dict updates per request on the event
loop (no lock, no store write); the autoscaler's loop calls `collect(now)` every second or so
and feeds the reports to its `MetricsWindow`. Each gateway process reports under its own stable
`reporter` id, so the window sums several processes correctly.

With several gateway processes (`modelport server --gateway-workers N`) each counts into its
slot of the shared segment instead (`LoadReporter(slot=...)`), and the main process's
`LoadBoard` reads every slot once a tick into one report per process and endpoint.
"""

from __future__ import annotations

import uuid

from modelport.autoscaler.window import GatewayReport
from modelport.gateway.shared_counts import SharedCounts, SlotCounts


class LoadReporter:
    __slots__ = ("_completed", "_in_flight", "_slot", "reporter")

    def __init__(self, reporter: str | None = None, slot: SlotCounts | None = None) -> None:
        self.reporter = reporter or f"gateway-{uuid.uuid4().hex[:12]}"
        self._in_flight: dict[int, int] = {}
        self._completed: dict[int, int] = {}
        self._slot = slot  # several processes: counted in shared memory, read by a LoadBoard

    def started(self, endpoint_id: int) -> None:
        if self._slot is not None:
            self._slot.endpoint_started(endpoint_id)
            return
        in_flight = self._in_flight
        in_flight[endpoint_id] = in_flight.get(endpoint_id, 0) + 1
        self._completed.setdefault(endpoint_id, 0)

    def finished(self, endpoint_id: int) -> None:
        """A request counted by `started` ended, however (answered, failed, client gone)."""
        if self._slot is not None:
            self._slot.endpoint_finished(endpoint_id)
            return
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


class LoadBoard:
    """Every gateway process's load from the shared segment, as the reports each process would
    send: one reporter per process (slot and pid, so a restarted worker is a new source),
    completions since the previous collect, a quiet endpoint once more with zeros."""

    def __init__(self, counts: SharedCounts) -> None:
        self._counts = counts
        # (slot, pid, row, endpoint id) -> completed total at the previous collect
        self._totals: dict[_Row, int] = {}
        self._busy: set[_Row] = set()  # reported with load last time: owed one quiet report

    def collect(self, now: float) -> list[GatewayReport]:
        reports: list[GatewayReport] = []
        totals: dict[_Row, int] = {}
        busy: set[_Row] = set()
        counts = self._counts
        for slot in counts.live():
            pid = counts.pid(slot)
            reporter = f"gateway-{slot}-{pid}"
            for row, endpoint_id, in_flight, total in counts.endpoint_rows(slot):
                key = (slot, pid, row, endpoint_id)
                done = max(0, total - self._totals.get(key, 0))
                totals[key] = total
                in_flight = max(0, in_flight)
                if done or in_flight:
                    busy.add(key)
                elif key not in self._busy:
                    continue
                reports.append(GatewayReport(reporter, str(endpoint_id), now, in_flight, done))
        self._totals, self._busy = totals, busy
        return reports


_Row = tuple[int, int, int, int]
