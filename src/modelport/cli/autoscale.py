"""`modelport autoscale NAME`: show an endpoint's autoscaling, or change it.

Without options it shows the status. Options change `spec.autoscale` through a patch (running
replicas are kept) and turn autoscaling on, unless `--off` says otherwise. `--metric` /
`--target` / `--window` manage one rule; policies with several rules are set with
`modelport patch`-style API calls (`set_autoscale` in the SDK).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from modelport.cli import render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption, NameArgument
from modelport.domain.specs import AutoscalePolicy, ScaleMetric, ScaleRule
from modelport.schemas.autoscale import AutoscaleStatus
from modelport.sdk import Client

# Rule fields the options set, to name the option a bad value came from.
_RULE_OPTIONS = {"value": "--target", "window_seconds": "--window"}


@dataclass(frozen=True, slots=True)
class RuleOptions:
    metric: ScaleMetric | None
    target: float | None
    window: float | None
    custom_metric: str | None

    def given(self) -> bool:
        return any(v is not None for v in (self.metric, self.target, self.window))


def autoscale(
    ctx: typer.Context,
    name: NameArgument,
    min_replicas: Annotated[
        int | None, typer.Option("--min", min=0, max=1000, help="Fewest replicas (0: idle).")
    ] = None,
    max_replicas: Annotated[
        int | None, typer.Option("--max", min=0, max=1000, help="Most replicas.")
    ] = None,
    metric: Annotated[
        ScaleMetric | None, typer.Option(help="What the rule watches (replaces the rules).")
    ] = None,
    target: Annotated[
        float | None, typer.Option(help="The rule's target per replica (above 0).")
    ] = None,
    window: Annotated[
        float | None,
        typer.Option(help="Averaging window, seconds (above 0)."),
    ] = None,
    custom_metric: Annotated[
        str | None, typer.Option(help="Engine metric name, with --metric custom.")
    ] = None,
    stability: Annotated[
        float | None,
        typer.Option(min=0, max=86400, help="Seconds between a change and the next scale-down."),
    ] = None,
    idle_timeout: Annotated[
        float | None,
        typer.Option(min=1, max=86400, help="Seconds without traffic before going to zero."),
    ] = None,
    cooldown: Annotated[
        float | None,
        typer.Option(min=0, max=86400, help="No scale-down this long after the start, seconds."),
    ] = None,
    enabled: Annotated[
        bool | None, typer.Option("--on/--off", help="Turn autoscaling on or off.")
    ] = None,
    decisions: Annotated[int, typer.Option(min=0, max=100, help="Decisions shown.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Show an endpoint's autoscaling, or set it (a patch that keeps running replicas).

    Example: modelport autoscale web --min 0 --max 3 --metric concurrency --target 4
    """
    rule = RuleOptions(metric, target, window, custom_metric)
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("min_replicas", min_replicas),
            ("max_replicas", max_replicas),
            ("stability_period_seconds", stability),
            ("idle_timeout_seconds", idle_timeout),
            ("initial_cooldown_seconds", cooldown),
        )
        if value is not None
    }
    with api_client(ctx) as client:
        if changes or rule.given() or enabled is not None:
            _apply(client, name, changes, rule, enabled)
        status = client.autoscale_status(name, decisions)
    if as_json:
        render.print_json(status)
    else:
        render.out.print(status_view(status))


def _apply(
    client: Client,
    name: str,
    changes: dict[str, Any],
    rule: RuleOptions,
    enabled: bool | None,
) -> None:
    current = client.get_endpoint(name)
    policy = current.spec.autoscale
    if rule.given():
        changes["rules"] = [r.model_dump(mode="json") for r in _rules(policy, rule)]
    # Setting a policy means using it: options turn autoscaling on unless --off is given.
    changes["enabled"] = True if enabled is None else enabled
    low = changes.get("min_replicas", policy.min_replicas)
    high = changes.get("max_replicas", policy.max_replicas)
    if high < low:
        raise typer.BadParameter(
            f"max replicas {high} is below min replicas {low}: give --max too (or a lower --min)",
            param_hint="--max",
        )
    if changes["enabled"] and not (changes.get("rules", policy.rules)):
        render.err.print(
            Text(
                "note: no rule: the endpoint stays between --min and --max, wakes from zero "
                "and idles after --idle-timeout; add one with --metric and --target",
                style="yellow",
            )
        )
    # The generation read: a concurrent change is a conflict, not silently merged over.
    client.set_autoscale(name, changes, current.generation)


def _rules(policy: AutoscalePolicy, given: RuleOptions) -> list[ScaleRule]:
    """The one rule the options describe, built on the current rule of that metric."""
    metric = given.metric
    if metric is None:
        if len(policy.rules) != 1:
            found = ", ".join(r.metric.value for r in policy.rules) or "none"
            raise typer.BadParameter(
                f"say which rule: this endpoint's rules are {found}; give --metric "
                f"({', '.join(m.value for m in ScaleMetric)}) with --target",
                param_hint="--metric",
            )
        metric = policy.rules[0].metric
    base = next((r for r in policy.rules if r.metric is metric), None)
    target = given.target if given.target is not None else base.value if base else None
    if target is None:
        raise typer.BadParameter(
            f"the target per replica for {metric.value}, e.g. --target 4", param_hint="--target"
        )
    fields: dict[str, Any] = base.model_dump() if base is not None else {}
    fields.update(metric=metric, value=target)
    if given.window is not None:
        fields["window_seconds"] = given.window
    if given.custom_metric is not None:
        fields["custom_metric_name"] = given.custom_metric
    if metric is ScaleMetric.CUSTOM and not fields.get("custom_metric_name"):
        raise typer.BadParameter(
            "--metric custom needs the engine metric's name, e.g. "
            "--custom-metric vllm:num_requests_waiting",
            param_hint="--custom-metric",
        )
    try:
        return [ScaleRule.model_validate(fields)]
    except ValidationError as exc:
        problem = exc.errors()[0]
        option = _RULE_OPTIONS.get(str(problem["loc"][0]) if problem["loc"] else "", "--target")
        raise typer.BadParameter(problem["msg"], param_hint=option) from None


def status_view(status: AutoscaleStatus) -> Table:
    """The status as a two-column table, then the recent decisions."""
    policy = status.policy
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    state = "on" if policy.enabled else "off (replicas set by hand)"
    table.add_row("endpoint", status.name)
    table.add_row("autoscale", state)
    table.add_row("replicas", f"min {policy.min_replicas}, max {policy.max_replicas}")
    table.add_row("target", "-" if status.target is None else str(status.target))
    table.add_row("wanted", str(status.wanted))
    table.add_row("phase", render.phase_text(status.phase))
    counts = status.replicas
    table.add_row(
        "running", f"{counts.ready} ready, {counts.starting} starting, {counts.pending} pending"
    )
    for index, rule in enumerate(policy.rules):
        table.add_row("rule" if index == 0 else "", _rule_text(rule))
    if not policy.rules:
        table.add_row("rule", "none (bounds, wake from zero and idle only)")
    table.add_row(
        "timing",
        f"stability {policy.stability_period_seconds:g} s, cooldown "
        f"{policy.initial_cooldown_seconds:g} s, idle timeout {policy.idle_timeout_seconds:g} s",
    )
    for index, d in enumerate(status.decisions):
        move = "" if d.from_replicas is None else f"{d.from_replicas} -> {d.to_replicas}  "
        why = f"{d.reason}: " if d.reason else ""
        line = f"{render.age(d.at)}  {move}{why}{d.detail}"
        table.add_row("decisions" if index == 0 else "", line)
    return table


def _rule_text(rule: ScaleRule) -> str:
    name = f"{rule.metric.value} ({rule.custom_metric_name})" if rule.custom_metric_name else ""
    return (
        f"{name or rule.metric.value} target {rule.value:g}/replica, window "
        f"{rule.window_seconds:g} s, watch {rule.watch_period_seconds:g} s, step "
        f"{rule.granularity_seconds:g} s"
    )
