"""The autoscaling policy on a simulated endpoint with a fake clock, tick by tick (1 s)."""

from __future__ import annotations

import itertools

from modelport.autoscaler.policy import Memory, Replicas, ScaleReason, decide
from modelport.autoscaler.window import MetricsWindow
from modelport.domain.specs import ScaleMetric, ScaleRule

from .simulation import ENDPOINT, Simulation, concurrency, policy


def test_a_spike_is_decided_on_the_first_tick_that_sees_it() -> None:
    # A long averaging window (60 s) would take many ticks to notice; the panic window does not.
    sim = Simulation(policy(concurrency(4, window=60)), replicas=1)
    sim.in_flight = 2
    sim.run(120)
    sim.in_flight = 16
    decision = sim.tick()
    assert (decision.desired, decision.reason) == (4, ScaleReason.PANIC)
    assert decision.detail == ("concurrency 16/replica >= 2x target 4 over the last 2 s: 1 -> 4")


def test_averaged_load_over_the_target_scales_up_with_its_reason() -> None:
    sim = Simulation(policy(concurrency(4, window=10)), replicas=2)
    sim.in_flight = 15
    decision = sim.tick()
    assert (decision.desired, decision.reason) == (4, ScaleReason.SCALE_UP)
    assert decision.detail == "concurrency 7.5/replica > target 4 over 10 s: 2 -> 4"


def test_steady_load_exactly_at_the_threshold_changes_nothing_in_30_minutes() -> None:
    sim = Simulation(policy(concurrency(4)), replicas=2)
    sim.in_flight = 8
    sim.run(30 * 60)
    assert sim.changes() == []
    assert sim.decisions[-1].reason is ScaleReason.STEADY
    assert sim.decisions[-1].detail == "concurrency 4/replica, target 4: stays 2"


def test_load_within_the_tolerance_band_changes_nothing() -> None:
    sim = Simulation(
        policy(concurrency(4, window=1), max_replicas=30, stability_period_seconds=0),
        replicas=20,
    )
    sim.in_flight = 86  # 7.5 % over 20 x 4: inside the 10 % band (ceil would ask for 22)
    sim.run(600)
    sim.in_flight = 74  # 7.5 % under: inside the band too (ceil would ask for 19)
    sim.run(600)
    assert sim.changes() == []


def test_noisy_load_at_the_threshold_changes_at_most_once_in_30_minutes() -> None:
    # 7, 8, 9, 8, ... requests in flight around a threshold of 2 replicas x 4.
    sim = Simulation(policy(concurrency(4, window=1)), replicas=2, load_seconds=20)
    noise = itertools.cycle([7, 8, 9, 8, 10, 6, 8])
    for _ in range(30 * 60):
        sim.in_flight = next(noise)
        sim.tick()
    assert len(sim.changes()) <= 1


def test_a_burst_does_not_cascade_while_new_replicas_start() -> None:
    # New replicas take 60 s to load; meanwhile the two READY ones carry 16 requests, 8 each.
    sim = Simulation(policy(concurrency(4, window=1)), replicas=2, load_seconds=60)
    sim.in_flight = 16
    first = sim.tick()
    assert (first.desired, first.reason) == (4, ScaleReason.PANIC)
    later = sim.run(59)
    assert sim.counts().starting == 2  # still loading
    assert [d.desired for d in later] == [4] * 59  # STARTING replicas count: no 2 -> 4 -> 8
    assert sim.changes() == [first]


def test_scale_down_waits_for_the_stability_period_and_the_watch_period() -> None:
    sim = Simulation(
        policy(concurrency(4, window=1, watch=60), stability_period_seconds=300), replicas=1
    )
    sim.in_flight = 16
    up = sim.tick()
    assert up.desired == 4
    sim.run(100)
    sim.in_flight = 4  # one replica's worth from now on
    held = sim.run(199)  # 300 s since the scale-up, less one
    assert {d.desired for d in held} == {4}
    assert held[-1].reason is ScaleReason.STABILIZING
    assert held[-1].detail == (
        "concurrency peak 1/replica < target 4 over 60 s, but the last change was 299 s ago "
        "(stability period 300 s): stays 4"
    )
    down = sim.tick()
    assert (down.desired, down.reason) == (1, ScaleReason.SCALE_DOWN)
    assert down.detail == "concurrency peak 1/replica < target 4 over 60 s: 4 -> 1"


def test_scale_down_needs_the_whole_watch_period_to_be_low() -> None:
    sim = Simulation(
        policy(concurrency(4, window=1, watch=60), stability_period_seconds=0), replicas=4
    )
    sim.in_flight = 16
    sim.run(30)
    sim.in_flight = 4
    assert {d.desired for d in sim.run(59)} == {4}  # the 16 is still in the look-back
    assert sim.tick().desired == 1


def test_no_scale_down_during_the_initial_cooldown() -> None:
    sim = Simulation(
        policy(concurrency(4), stability_period_seconds=0, initial_cooldown_seconds=600),
        replicas=3,
    )
    sim.in_flight = 1
    held = sim.run(599)
    assert {d.desired for d in held} == {3}
    assert held[-1].reason is ScaleReason.COOLDOWN
    assert "but started 599 s ago (initial cooldown 600 s): stays 3" in held[-1].detail
    assert sim.tick().desired == 1


def test_idle_goes_to_zero_after_the_idle_timeout_and_demand_wakes_one() -> None:
    sim = Simulation(policy(concurrency(4), min_replicas=0, idle_timeout_seconds=120), replicas=1)
    sim.in_flight = 1
    sim.run(10)
    sim.in_flight = 0
    assert {d.desired for d in sim.run(119)} == {1}
    idle = sim.tick()
    assert (idle.desired, idle.reason) == (0, ScaleReason.IDLE)
    assert idle.detail == "no requests for 120 s (idle timeout 120 s): 1 -> 0"
    assert {d.desired for d in sim.run(600)} == {0}
    # A burst of 8 at zero: exactly one replica, held there until it is READY.
    sim.load_seconds = 30
    sim.in_flight = 8
    wake = sim.tick()
    assert (wake.desired, wake.reason) == (1, ScaleReason.WAKE)
    assert wake.detail == "demand at zero (in flight 8, queued 0): 0 -> 1"
    waiting = sim.run(29)
    assert {(d.desired, d.reason) for d in waiting} == {(1, ScaleReason.WAKING)}
    assert sim.tick().desired == 2  # READY now: 8 requests on one replica with a target of 4


def test_the_idle_timeout_waits_for_the_initial_cooldown() -> None:
    sim = Simulation(
        policy(
            concurrency(4), min_replicas=0, idle_timeout_seconds=60, initial_cooldown_seconds=300
        ),
        replicas=1,
    )
    assert {d.desired for d in sim.run(299)} == {1}
    assert sim.tick().desired == 0


def test_queued_async_work_wakes_an_endpoint_at_zero_and_counts_as_demand() -> None:
    rules = [concurrency(4)]
    now = 1000.0
    window = MetricsWindow(retention=120, stale_after=5)
    window.backlog(ENDPOINT, at=now, queued=3)
    decision = decide(
        policy(*rules, min_replicas=0),
        window.snapshot(ENDPOINT, now),
        Replicas(target=0),
        Memory.fresh(started_at=0, now=0),
        now,
    )
    assert (decision.desired, decision.reason) == (1, ScaleReason.WAKE)
    window.backlog(ENDPOINT, at=now + 1, queued=40)
    decision = decide(
        policy(*rules, min_replicas=0),
        window.snapshot(ENDPOINT, now + 1),
        Replicas(target=1, ready=1),
        decision.memory,
        now + 1,
    )
    assert (decision.desired, decision.reason) == (10, ScaleReason.PANIC)


def test_replicas_that_cannot_be_placed_are_not_asked_for_again() -> None:
    sim = Simulation(policy(concurrency(4, window=1)), replicas=2)
    sim.in_flight = 16
    assert sim.tick().desired == 4
    sim.unplaceable = 2  # the two new ones need a GPU the host lacks
    sim.in_flight = 30  # requests pile up on the two that run
    held = sim.run(120)
    assert {d.desired for d in held} == {4}
    assert held[-1].reason is ScaleReason.UNPLACEABLE
    assert held[-1].detail.endswith("but 2 asked for cannot be placed: stays 4")


def test_desired_is_clamped_to_min_and_max() -> None:
    sim = Simulation(policy(concurrency(4), max_replicas=3), replicas=1)
    sim.in_flight = 100
    assert sim.tick().desired == 3
    at_max = sim.tick()
    assert (at_max.desired, at_max.reason) == (3, ScaleReason.AT_MAX)
    low = Simulation(policy(concurrency(4), min_replicas=2), replicas=1)
    bounds = low.tick()
    assert (bounds.desired, bounds.reason) == (2, ScaleReason.BOUNDS)
    assert bounds.detail == "outside min 2 / max 10: 1 -> 2"


def test_several_rules_take_the_highest_desired_count() -> None:
    rate = ScaleRule(
        metric=ScaleMetric.REQUEST_RATE,
        value=5,
        window_seconds=10,
        watch_period_seconds=60,
        granularity_seconds=1,
    )
    sim = Simulation(policy(concurrency(4, window=10), rate), replicas=1)
    sim.in_flight = 4  # concurrency alone: one replica is enough
    sim.completed_per_tick = 30  # 30 requests/s at 5 per replica: six replicas
    decisions = sim.run(10)
    assert max(d.desired for d in decisions) == 6
    assert sim.changes()[0].reason in {ScaleReason.PANIC, ScaleReason.SCALE_UP}
    assert "request rate" in sim.changes()[0].detail


def test_a_custom_engine_metric_drives_the_count() -> None:
    name = "vllm:num_requests_waiting"
    rule = ScaleRule(
        metric=ScaleMetric.CUSTOM,
        custom_metric_name=name,
        value=2,
        window_seconds=5,
        granularity_seconds=1,
    )
    sim = Simulation(policy(rule), replicas=2)
    for _ in range(5):
        sim.clock.advance(1)
        sim.window.scrape(ENDPOINT, "r1", name, sim.now, 4)
        sim.window.scrape(ENDPOINT, "r2", name, sim.now, 3)
        decision = sim.decide()
    assert decision.desired == 4  # 7 waiting at 2 per replica
    assert sim.changes()[0].detail.startswith("vllm:num_requests_waiting 3.5/replica")


def test_autoscaling_off_leaves_the_count_alone() -> None:
    sim = Simulation(policy(concurrency(4), enabled=False), replicas=3)
    sim.in_flight = 100
    decision = sim.tick()
    assert (decision.desired, decision.reason) == (3, ScaleReason.DISABLED)
