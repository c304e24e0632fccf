"""Windowed metrics: several gateway processes sum, silent sources age out, old samples go."""

from __future__ import annotations

import pytest

from modelport.autoscaler.window import (
    BACKLOG,
    IN_FLIGHT,
    GatewayReport,
    MetricsWindow,
    engine_metric,
)


def report(reporter: str, at: float, in_flight: int, completed: int = 0) -> GatewayReport:
    return GatewayReport(reporter, "chat", at, in_flight, completed)


def test_several_reporters_sum_in_flight_and_rate() -> None:
    window = MetricsWindow(retention=120, stale_after=5)
    for second in range(1, 11):
        window.report(report("gw-1", second, in_flight=3, completed=2))
        window.report(report("gw-2", second + 0.5, in_flight=5, completed=4))
    metrics = window.snapshot("chat", now=10.5)
    assert metrics.gauge_now(IN_FLIGHT) == 8
    in_flight = metrics.gauge_steps([IN_FLIGHT], granularity=1, seconds=10)
    assert in_flight.mean(10) == 8  # each step: gw-1's 3 + gw-2's 5, never one of them alone
    rate = metrics.rate_steps(granularity=1, seconds=10)
    # 10 s of 2 + 4 completions per second from the two processes: 6 requests/s.
    assert rate.mean(10) == pytest.approx(6, rel=0.1)
    assert metrics.completed_within(10) == 60


def test_each_reporter_counts_with_its_latest_sample_of_the_step() -> None:
    window = MetricsWindow(retention=60, stale_after=5)
    window.report(report("gw-1", 10.1, in_flight=9))
    window.report(report("gw-1", 10.6, in_flight=2))  # later in the same step: this one counts
    window.report(report("gw-2", 10.3, in_flight=1))
    steps = window.snapshot("chat", now=10.9).gauge_steps([IN_FLIGHT], 1, 5)
    assert steps.values == (3,)


def test_a_reporter_that_stops_reporting_ages_out() -> None:
    window = MetricsWindow(retention=120, stale_after=5)
    for second in range(1, 21):
        window.report(report("gw-2", second, in_flight=2))
        if second <= 10:
            window.report(report("gw-1", second, in_flight=6))  # then it dies
    metrics = window.snapshot("chat", now=20)
    assert metrics.gauge_now(IN_FLIGHT) == 2
    steps = metrics.gauge_steps([IN_FLIGHT], granularity=1, seconds=19).values
    assert steps[:9] == (8,) * 9  # while both reported
    assert steps[-5:] == (2,) * 5  # gw-1's last 6 is not frozen in


def test_engine_gauges_sum_over_replicas_and_stopped_replicas_age_out() -> None:
    window = MetricsWindow(retention=60, stale_after=5)
    name = "vllm:num_requests_waiting"
    window.scrape("chat", "r1", name, at=1, value=3)
    window.scrape("chat", "r2", name, at=1.5, value=4)
    assert window.snapshot("chat", now=2).gauge_now(engine_metric(name)) == 7
    window.scrape("chat", "r2", name, at=8, value=1)  # r1 was stopped after its scrape at 1
    assert window.snapshot("chat", now=8).gauge_now(engine_metric(name)) == 1
    assert window.snapshot("chat", now=8).gauge_now(engine_metric("other")) == 0


def test_backlog_is_a_gauge_and_counts_as_activity() -> None:
    window = MetricsWindow(retention=60, stale_after=5)
    window.backlog("chat", at=3, queued=12)
    metrics = window.snapshot("chat", now=4)
    assert metrics.gauge_now(BACKLOG) == 12
    assert metrics.last_activity_at == 3


def test_samples_older_than_the_retention_are_dropped() -> None:
    window = MetricsWindow(retention=30, stale_after=5)
    for second in range(0, 100):
        window.report(report("gw-1", second, in_flight=1, completed=1))
    metrics = window.snapshot("chat", now=99)
    kept = [s.at for series in metrics.gauges[IN_FLIGHT] for s in series]
    assert min(kept) == 68  # the newest sample before the cutoff (69) says what the gauge read
    assert min(s.at for s in metrics.completions) == 69
    window.forget("chat")
    assert window.snapshot("chat", now=99).first_at is None


def test_a_fresh_endpoint_is_not_averaged_with_time_it_had_no_data_for() -> None:
    window = MetricsWindow(retention=120, stale_after=5)
    window.report(report("gw-1", 100.2, in_flight=12))
    steps = window.snapshot("chat", now=100.4).gauge_steps([IN_FLIGHT], 1, 60)
    assert steps.mean(60) == 12


def test_bad_reports_and_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="stale_after"):
        MetricsWindow(retention=1, stale_after=5)
    window = MetricsWindow(retention=60, stale_after=5)
    with pytest.raises(ValueError, match="in_flight"):
        window.report(report("gw-1", 1, in_flight=-1))
