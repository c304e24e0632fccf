"""A simulated endpoint for policy tests: gateway reporters, replicas that take time to load,
a FakeClock, and the policy applied tick by tick as the controller will apply it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from modelport.autoscaler.policy import Decision, Memory, Replicas, decide, retention
from modelport.autoscaler.window import GatewayReport, MetricsWindow
from modelport.clock import FakeClock
from modelport.domain.specs import AutoscalePolicy, ScaleMetric, ScaleRule

ENDPOINT = "chat"
STALE_AFTER = 5.0


def concurrency(value: float = 4, *, window: float = 10, watch: float = 60) -> ScaleRule:
    return ScaleRule(
        metric=ScaleMetric.CONCURRENCY,
        value=value,
        window_seconds=window,
        watch_period_seconds=watch,
        granularity_seconds=1,
    )


def policy(*rules: ScaleRule, **fields: object) -> AutoscalePolicy:
    base: dict[str, object] = {"enabled": True, "min_replicas": 1, "max_replicas": 10}
    return AutoscalePolicy.model_validate(
        {**base, **fields, "rules": [r.model_dump() for r in rules or (concurrency(),)]}
    )


@dataclass
class Simulation:
    """One endpoint under load. `tick()` reports what the gateways see, asks the policy and
    carries out its decision: new replicas are STARTING for `load_seconds`, then READY; a
    scale-down stops STARTING replicas before READY ones."""

    policy: AutoscalePolicy
    replicas: int = 1
    load_seconds: float = 0.0
    unplaceable: int = 0  # replicas past this many (of those started) never become READY
    reporters: Sequence[str] = ("gw-1",)
    clock: FakeClock = field(default_factory=FakeClock)
    in_flight: float = 0  # total, split evenly between the reporters
    completed_per_tick: int = 0
    decisions: list[Decision] = field(default_factory=list)

    def __post_init__(self) -> None:
        now = self.clock.monotonic()
        self.window = MetricsWindow(
            retention=retention(self.policy), stale_after=min(STALE_AFTER, retention(self.policy))
        )
        self.memory = Memory.fresh(started_at=now, now=now)
        self.ready_at: list[float] = [now] * self.replicas  # when each replica becomes READY

    @property
    def now(self) -> float:
        return self.clock.monotonic()

    def target(self) -> int:
        return len(self.ready_at)

    def counts(self) -> Replicas:
        placeable = self.ready_at[: len(self.ready_at) - self.unplaceable]
        ready = sum(1 for at in placeable if at <= self.now)
        pending = len(self.ready_at) - len(placeable)
        return Replicas(
            target=self.target(),
            ready=ready,
            starting=len(placeable) - ready,
            pending=pending,
            unplaceable=self.unplaceable,
        )

    def report(self, reporters: Sequence[str] | None = None) -> None:
        chosen = reporters if reporters is not None else self.reporters
        for reporter in chosen:
            self.window.report(
                GatewayReport(
                    reporter=reporter,
                    endpoint=ENDPOINT,
                    at=self.now,
                    in_flight=round(self.in_flight / len(chosen)),
                    completed=self.completed_per_tick // len(chosen),
                )
            )

    def decide(self) -> Decision:
        decision = decide(
            self.policy,
            self.window.snapshot(ENDPOINT, self.now),
            self.counts(),
            self.memory,
            self.now,
        )
        self.memory = decision.memory
        self.decisions.append(decision)
        if decision.desired > self.target():
            added = decision.desired - self.target()
            self.ready_at += [self.now + self.load_seconds] * added
        elif decision.desired < self.target():
            # The controller prefers stopping replicas that are not serving yet.
            self.ready_at.sort()
            del self.ready_at[decision.desired :]
        return decision

    def tick(self, seconds: float = 1.0) -> Decision:
        self.clock.advance(seconds)
        self.report()
        return self.decide()

    def run(self, seconds: int) -> list[Decision]:
        return [self.tick() for _ in range(seconds)]

    def changes(self) -> list[Decision]:
        return [d for d in self.decisions if d.changed]
