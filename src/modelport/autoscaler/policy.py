"""The autoscaling policy: windowed metrics + policy + replicas -> desired replicas, with why.

`decide` is a pure function. What it must remember between ticks (when the endpoint started,
the last change, the last demand) is a `Memory` passed in and handed back in the `Decision`.

Per rule (seed 001 / 004 fields; `value` is the target per replica, condition `limit`):
- the metric is read per `granularity` step (window.py) and averaged over `window` seconds;
- scale UP at once when that reading per replica is above the target by more than the
  tolerance, to ceil(total / target);
- PANIC: a short window (the last PANIC_STEPS steps) may only scale up, when it shows at least
  PANIC_THRESHOLD times the target per replica, so a spike is acted on at the first tick that
  sees it even when `window` is long (Knative's panic mode, pkg/autoscaler/scaling/
  autoscaler.go: panic threshold 200 %, panic only increases);
- scale DOWN only to what the highest reading of the last `watch_period` needs, no sooner than
  `stability_period` after the previous change, never within `initial_cooldown_period` of the
  start (the "max recommendation over a stabilization window" of Kubernetes' HPA, which Knative
  also uses for its scale-down delay);
- several rules: the highest desired count wins (a rule that still needs replicas holds them).

Capacity is the endpoint's current target (`Replicas.target`): READY, STARTING and PENDING
replicas all count, so a burst seen while new replicas load does not ask for more again
(AIBrix computes from ready pods and cascades 2 -> 4 -> 8; Ray Serve's cold start path and
Knative's ReadyCount() have the same blind spot). Going to zero is the idle timeout's alone; from
zero any demand gives one replica, and no more are asked for before one is READY (the demand
seen then is requests held for that replica).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from modelport.autoscaler.window import BACKLOG, IN_FLIGHT, EndpointMetrics, Steps, engine_metric
from modelport.domain.scaling import ScaleReason
from modelport.domain.specs import AutoscalePolicy, ScaleMetric, ScaleRule

__all__ = ["Decision", "Memory", "Replicas", "ScaleReason", "decide", "retention"]

# Hysteresis: no change while the load per replica is within 10 % of the target (Kubernetes
# HPA's default tolerance). Above it we scale up; below it we scale down only to the count the
# look-back's peak needs. Steady load at the threshold is inside the band, so it changes nothing;
# noise that crosses the top of the band adds replicas once, and the peak-based scale-down keeps
# them as long as that noise lasts: one change, not a flap.
TOLERANCE = 0.10
PANIC_STEPS = 2  # the panic window, in granularity steps (current step and the one before)
PANIC_THRESHOLD = 2.0  # panic when the short window shows twice what the replicas are sized for


@dataclass(frozen=True, slots=True)
class Replicas:
    """The endpoint's replicas as the controller sees them."""

    target: int  # the desired count now set on the endpoint (what the decision moves from)
    ready: int = 0
    starting: int = 0
    pending: int = 0
    unplaceable: int = 0  # of the pending ones, those the runtime cannot place (e.g. no GPU)


@dataclass(frozen=True, slots=True)
class Memory:
    """What the policy keeps between ticks (the caller stores it; a fresh one is cautious)."""

    started_at: float  # when the endpoint started: the initial cooldown runs from here
    last_change_at: float  # the last time the desired count changed
    last_demand_at: float  # the last time any demand was seen (idle timeout)

    @classmethod
    def fresh(cls, started_at: float, now: float) -> Memory:
        """Memory for an endpoint the policy has not seen: as if it had just changed and seen
        demand, so a restarted autoscaler waits a full stability period / idle timeout."""
        return cls(started_at=started_at, last_change_at=now, last_demand_at=now)


@dataclass(frozen=True, slots=True)
class Decision:
    current: int
    desired: int
    reason: ScaleReason
    detail: str  # e.g. "concurrency 7.5/replica > target 4 over 10 s: 2 -> 4"
    memory: Memory
    why: str = ""  # the detail without its "2 -> 4" / "stays 2" tail: the inputs alone

    @property
    def changed(self) -> bool:
        return self.desired != self.current


@dataclass(frozen=True, slots=True)
class _Reading:
    """One rule's view of the metrics."""

    rule: ScaleRule
    label: str
    now: float  # total over all replicas, averaged over `window`
    panic: float  # total, the highest step of the panic window
    peak: float  # total, the highest `window` reading of the `watch_period` look-back
    spike: float  # total, the highest single step of the look-back

    def needed(self, total: float) -> int:
        return math.ceil(total / self.rule.value - 1e-9)  # 8/4 is 2, not 3 by rounding noise


@dataclass(frozen=True, slots=True)
class _Proposal:
    desired: int
    reason: ScaleReason
    why: str  # the detail without the "a -> b" tail


def retention(policy: AutoscalePolicy) -> float:
    """How long a MetricsWindow must keep samples for this policy's rules."""
    return max(
        (
            r.window_seconds + r.watch_period_seconds + (PANIC_STEPS + 1) * r.granularity_seconds
            for r in policy.rules
        ),
        default=60.0,
    )


def decide(
    policy: AutoscalePolicy,
    metrics: EndpointMetrics,
    replicas: Replicas,
    memory: Memory,
    now: float,
) -> Decision:
    """The desired replica count for one endpoint at `now`, and why."""
    current = replicas.target
    in_flight, backlog = metrics.gauge_now(IN_FLIGHT), metrics.gauge_now(BACKLOG)
    recent = metrics.completed_within(metrics.stale_after)
    if in_flight or backlog or recent:
        memory = replace(memory, last_demand_at=now)
    if metrics.last_activity_at is not None and metrics.last_activity_at > memory.last_demand_at:
        memory = replace(memory, last_demand_at=metrics.last_activity_at)

    proposal = _propose(policy, metrics, replicas, memory, now, (in_flight, backlog, recent))
    if proposal.desired != current:
        memory = replace(memory, last_change_at=now)
        detail = f"{proposal.why}: {current} -> {proposal.desired}"
    else:
        detail = f"{proposal.why}: stays {current}"
    return Decision(current, proposal.desired, proposal.reason, detail, memory, proposal.why)


def _propose(
    policy: AutoscalePolicy,
    metrics: EndpointMetrics,
    replicas: Replicas,
    memory: Memory,
    now: float,
    demand: tuple[float, float, float],
) -> _Proposal:
    current = replicas.target
    low, high = policy.min_replicas, policy.max_replicas
    if not policy.enabled:
        return _Proposal(current, ScaleReason.DISABLED, "autoscaling is off")
    if not low <= current <= high:
        clamped = min(max(current, low), high)
        return _Proposal(clamped, ScaleReason.BOUNDS, f"outside min {low} / max {high}")
    in_flight, backlog, recent = demand
    if current == 0:
        if in_flight or backlog or recent:
            why = f"demand at zero (in flight {_n(in_flight)}, queued {_n(backlog)})"
            return _Proposal(min(max(1, low), high), ScaleReason.WAKE, why)
        return _Proposal(0, ScaleReason.IDLE, "no demand")
    cooling = now - memory.started_at < policy.initial_cooldown_seconds
    idle_for = now - memory.last_demand_at
    if low == 0 and idle_for >= policy.idle_timeout_seconds and not cooling:
        why = f"no requests for {_n(idle_for)} s (idle timeout {_n(policy.idle_timeout_seconds)} s)"
        return _Proposal(0, ScaleReason.IDLE, why)
    if replicas.ready == 0:
        return _Proposal(current, ScaleReason.WAKING, "no replica READY yet")
    readings = [_read(rule, metrics) for rule in policy.rules]
    if not readings:
        return _Proposal(current, ScaleReason.STEADY, "no rules")

    up = max((_up(r, current) for r in readings), key=lambda p: p.desired)
    if up.desired > current:
        if replicas.unplaceable:
            why = f"{up.why}, but {replicas.unplaceable} asked for cannot be placed"
            return _Proposal(current, ScaleReason.UNPLACEABLE, why)
        if current >= high:
            return _Proposal(current, ScaleReason.AT_MAX, f"{up.why}, at max {high}")
        return _Proposal(min(up.desired, high), up.reason, up.why)

    down = max((_down(r, current) for r in readings), key=lambda p: p.desired)
    floor = max(low, 1)  # only the idle timeout takes an endpoint to zero
    if down.desired >= current or current <= floor:
        return _Proposal(current, ScaleReason.STEADY, _steady(readings, current))
    if cooling:
        started = now - memory.started_at
        why = (
            f"{down.why}, but started {_n(started)} s ago "
            f"(initial cooldown {_n(policy.initial_cooldown_seconds)} s)"
        )
        return _Proposal(current, ScaleReason.COOLDOWN, why)
    since = now - memory.last_change_at
    if since < policy.stability_period_seconds:
        why = (
            f"{down.why}, but the last change was {_n(since)} s ago "
            f"(stability period {_n(policy.stability_period_seconds)} s)"
        )
        return _Proposal(current, ScaleReason.STABILIZING, why)
    return _Proposal(max(down.desired, floor), ScaleReason.SCALE_DOWN, down.why)


def _read(rule: ScaleRule, metrics: EndpointMetrics) -> _Reading:
    g, window, look_back = rule.granularity_seconds, rule.window_seconds, rule.watch_period_seconds
    span = window + look_back
    steps: Steps
    if rule.metric is ScaleMetric.REQUEST_RATE:
        steps = metrics.rate_steps(g, span)
    elif rule.metric is ScaleMetric.CONCURRENCY:
        # Queued async work is demand not in flight yet (as Ray Serve's async policy adds it).
        steps = metrics.gauge_steps((IN_FLIGHT, BACKLOG), g, span)
    else:
        steps = metrics.gauge_steps((engine_metric(_gauge_name(rule)),), g, span)
    return _Reading(
        rule=rule,
        label=_label(rule),
        now=steps.mean(window),
        panic=steps.recent_max(PANIC_STEPS),
        peak=steps.peak_mean(window, look_back),
        spike=steps.peak(look_back),
    )


def _up(reading: _Reading, current: int) -> _Proposal:
    """What this rule asks for when load grows: the panic window first, then the reading."""
    rule, value = reading.rule, reading.rule.value
    if reading.panic >= PANIC_THRESHOLD * value * current:
        panic_seconds = PANIC_STEPS * rule.granularity_seconds
        why = (
            f"{reading.label} {_per(reading.panic, current)}/replica >= {_n(PANIC_THRESHOLD)}x "
            f"target {_n(value)} over the last {_n(panic_seconds)} s"
        )
        return _Proposal(max(reading.needed(reading.panic), current), ScaleReason.PANIC, why)
    if reading.now > (1 + TOLERANCE) * value * current:
        why = (
            f"{reading.label} {_per(reading.now, current)}/replica > target {_n(value)} "
            f"over {_n(rule.window_seconds)} s"
        )
        return _Proposal(reading.needed(reading.now), ScaleReason.SCALE_UP, why)
    return _Proposal(current, ScaleReason.STEADY, "")


def _down(reading: _Reading, current: int) -> _Proposal:
    """What this rule still needs: a count that neither way up would leave again on the
    look-back's own data (its peak reading fits, its highest step would not panic); nothing
    changes while the peak is within the band."""
    rule, value = reading.rule, reading.rule.value
    if reading.peak >= (1 - TOLERANCE) * value * current:
        return _Proposal(current, ScaleReason.STEADY, "")
    calm = math.floor(reading.spike / (PANIC_THRESHOLD * value)) + 1 if reading.spike else 0
    why = (
        f"{reading.label} peak {_per(reading.peak, current)}/replica < target {_n(value)} "
        f"over {_n(rule.watch_period_seconds)} s"
    )
    return _Proposal(max(reading.needed(reading.peak), calm), ScaleReason.SCALE_DOWN, why)


def _steady(readings: list[_Reading], current: int) -> str:
    return "; ".join(
        f"{r.label} {_per(r.now, current)}/replica, target {_n(r.rule.value)}" for r in readings
    )


def _gauge_name(rule: ScaleRule) -> str:
    if rule.metric is ScaleMetric.CUSTOM and rule.custom_metric_name:
        return rule.custom_metric_name
    return str(rule.metric)  # cpu: the controller scrapes it under this name


def _label(rule: ScaleRule) -> str:
    return _gauge_name(rule) if rule.metric is not ScaleMetric.REQUEST_RATE else "request rate"


def _per(total: float, replicas: int) -> str:
    return _n(total / max(replicas, 1))


def _n(number: float) -> str:
    """A number as people write it: 7.5, 4, 0.33."""
    return f"{number:.2f}".rstrip("0").rstrip(".")
