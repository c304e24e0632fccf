"""LoadReporter: per endpoint, requests in flight now and completions since the last collect."""

from __future__ import annotations

from modelport.autoscaler.window import GatewayReport
from modelport.gateway.load import LoadReporter


def test_counts_in_flight_and_completions_per_endpoint() -> None:
    load = LoadReporter("gw-1")
    for endpoint_id in (1, 1, 1, 2):
        load.started(endpoint_id)
    load.finished(1)
    reports = load.collect(now=10.0)
    assert sorted(reports, key=lambda r: r.endpoint) == [
        GatewayReport("gw-1", "1", 10.0, in_flight=2, completed=1),
        GatewayReport("gw-1", "2", 10.0, in_flight=1, completed=0),
    ]


def test_collect_resets_completions_but_not_in_flight() -> None:
    load = LoadReporter("gw-1")
    load.started(7)
    load.started(7)
    load.finished(7)
    load.collect(now=1.0)
    assert load.collect(now=2.0) == [GatewayReport("gw-1", "7", 2.0, in_flight=1, completed=0)]
    load.finished(7)
    assert load.collect(now=3.0) == [GatewayReport("gw-1", "7", 3.0, in_flight=0, completed=1)]


def test_a_quiet_endpoint_is_reported_at_zero_once_then_dropped() -> None:
    load = LoadReporter("gw-1")
    load.started(3)
    load.finished(3)
    assert load.collect(now=1.0)[0].completed == 1
    assert load.collect(now=2.0) == [GatewayReport("gw-1", "3", 2.0, in_flight=0, completed=0)]
    assert load.collect(now=3.0) == []
    load.started(3)  # busy again: reported again
    assert load.collect(now=4.0) == [GatewayReport("gw-1", "3", 4.0, in_flight=1, completed=0)]


def test_each_gateway_process_reports_under_its_own_stable_id() -> None:
    first, second = LoadReporter(), LoadReporter()
    assert first.reporter != second.reporter
    first.started(1)
    assert {r.reporter for r in first.collect(1.0) + first.collect(2.0)} == {first.reporter}
