"""This server's gateway load, kept for two readers: its own controller and the other servers.

The process's load source (`LoadReporter.collect`, or `LoadBoard.collect` with several gateway
processes) hands out completions once: a second reader would steal them from the first. The
ledger is the one reader. Each read (`sample` by the publisher every tick on every server,
`collect` by the autoscaler while this server leads) updates a tally per endpoint, and the
reports taken by `sample` wait for `collect`, so the local autoscaler still sees every report
from memory (a few ticks' worth are kept while this server does not lead).

A tally counts completions from zero since the write it first appeared in (`since`); an
endpoint that went quiet is published once more at zero in flight, then dropped, and counts
from zero under a new `since` when busy again. The payload so holds only active endpoints.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from modelport.autoscaler.window import GatewayReport
from modelport.gateway.routes import RouteTable
from modelport.store.loads import EndpointLoad, ServerLoad

LoadSource = Callable[[float], Sequence[GatewayReport]]
HeldLookup = Callable[[int], bool]  # endpoint id: its requests are held here (no READY replica)
ReplicaCounts = Callable[[], Mapping[int, int]]  # replica id -> in flight (Balancer)

KEPT_BATCHES = 10  # reports taken by `sample` kept for `collect` (ticks a standby keeps)


def holding(routes: RouteTable) -> HeldLookup:
    """Requests for an endpoint are held here while its route has no READY replica."""

    def held(endpoint_id: int) -> bool:
        route = routes.get(endpoint_id)
        return route is not None and not route.replicas

    return held


@dataclass(slots=True)
class _Tally:
    since: int
    in_flight: int = 0
    completed: int = 0


class LoadLedger:
    def __init__(self, source: LoadSource, held: HeldLookup, replicas: ReplicaCounts) -> None:
        self._source = source
        self._held = held
        self._replicas = replicas
        self._tallies: dict[int, _Tally] = {}
        self._unclaimed: deque[Sequence[GatewayReport]] = deque(maxlen=KEPT_BATCHES)
        self.seq = 0  # writes published so far
        self._published: dict[int, EndpointLoad] = {}

    def collect(self, now: float) -> list[GatewayReport]:
        """The local autoscaler's load source: every report since its previous call."""
        reports = [r for batch in self._unclaimed for r in batch]
        self._unclaimed.clear()
        reports.extend(self._take(now))
        return reports

    def sample(self, now: float) -> None:
        """Read the source for publishing; its reports wait for `collect`."""
        self._unclaimed.append(self._take(now))

    def snapshot(self) -> ServerLoad:
        """What this server would publish now. An endpoint quiet since its last published entry
        (zero in flight, no completion) is dropped from the tallies and the payload."""
        entries = []
        for endpoint_id, tally in list(self._tallies.items()):
            held = tally.in_flight if tally.in_flight and self._held(endpoint_id) else 0
            entry = EndpointLoad(
                endpoint_id=endpoint_id,
                in_flight=tally.in_flight,
                held=held,
                completed=tally.completed,
                since=tally.since,
            )
            if not tally.in_flight and self._published.get(endpoint_id) == entry:
                del self._tallies[endpoint_id]
                continue
            entries.append(entry)
        return ServerLoad(endpoints=tuple(entries), replicas=dict(self._replicas()))

    def published(self, load: ServerLoad) -> None:
        """`load` was written as write number `seq`."""
        self.seq += 1
        self._published = {e.endpoint_id: e for e in load.endpoints}

    def _take(self, now: float) -> Sequence[GatewayReport]:
        batch = self._source(now)
        in_flight: dict[int, int] = {}
        completed: dict[int, int] = {}
        for report in batch:
            endpoint_id = int(report.endpoint)
            in_flight[endpoint_id] = in_flight.get(endpoint_id, 0) + report.in_flight
            completed[endpoint_id] = completed.get(endpoint_id, 0) + report.completed
        for endpoint_id in in_flight:
            if endpoint_id not in self._tallies:
                self._tallies[endpoint_id] = _Tally(since=self.seq + 1)
        for endpoint_id, tally in self._tallies.items():
            # A source reports every endpoint with requests in flight: absent means none.
            tally.in_flight = in_flight.get(endpoint_id, 0)
            tally.completed += completed.get(endpoint_id, 0)
        return batch
