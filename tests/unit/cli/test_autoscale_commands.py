"""`modelport autoscale` against the real API over HTTP."""

from __future__ import annotations

import re

from typer.testing import Result

from modelport.domain.records import EventLevel
from modelport.domain.scaling import ScaleChange, ScaleReason
from tests.unit.cli.helpers import json_out, run
from tests.unit.sdk.live_server import LiveServer

POLICY = ("--min", "0", "--max", "3", "--metric", "concurrency", "--target", "4")
CUSTOM = ("--framework", "custom", "--command", "python -m http.server {port}")


def said(result: Result) -> str:
    """The output's words on one line: Typer boxes and wraps usage errors."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


def deploy(server: LiveServer, name: str = "web") -> None:
    result = run(server, "deploy", name, *CUSTOM, "--no-wait", "--json")
    assert result.exit_code == 0, result.output


def test_setting_a_policy_patches_it_on_without_a_rollout(server: LiveServer) -> None:
    deploy(server)
    before = server.endpoint("web")

    options = "--min 0 --max 3 --metric concurrency --target 4 --window 10 --stability 60"
    timing = "--idle-timeout 120 --cooldown 5"
    status = json_out(run(server, "autoscale", "web", *options.split(), *timing.split(), "--json"))

    policy = status["policy"]
    assert policy["enabled"] is True
    assert (policy["min_replicas"], policy["max_replicas"]) == (0, 3)
    assert (policy["stability_period_seconds"], policy["idle_timeout_seconds"]) == (60, 120)
    assert policy["initial_cooldown_seconds"] == 5
    assert [(r["metric"], r["value"], r["window_seconds"]) for r in policy["rules"]] == [
        ("concurrency", 4, 10)
    ]
    after = server.endpoint("web")
    assert after.template_generation == before.template_generation  # running replicas kept
    assert after.spec.autoscale.enabled


def test_target_alone_changes_the_one_rule_and_off_keeps_the_policy(server: LiveServer) -> None:
    deploy(server)
    run(server, "autoscale", "web", "--max", "3", "--metric", "concurrency", "--target", "4")

    json_out(run(server, "autoscale", "web", "--target", "8", "--json"))
    rules = server.endpoint("web").spec.autoscale.rules
    assert [(r.metric.value, r.value) for r in rules] == [("concurrency", 8)]

    off = json_out(run(server, "autoscale", "web", "--off", "--json"))
    assert off["policy"]["enabled"] is False
    assert off["policy"]["max_replicas"] == 3  # kept for when it is turned on again
    on = json_out(run(server, "autoscale", "web", "--on", "--json"))
    assert on["policy"]["enabled"] is True


def test_show_prints_the_policy_target_and_decisions(server: LiveServer) -> None:
    deploy(server)
    run(server, "autoscale", "web", *POLICY)
    endpoint = server.endpoint("web")
    server.store.set_scale_target(endpoint.id, expected=None, target=2, now=server.clock.now())
    change = ScaleChange(
        reason=ScaleReason.SCALE_UP,
        from_replicas=1,
        to_replicas=2,
        detail="concurrency 7.5/replica > target 4 over 10 s",
    )
    server.store.add_event(
        endpoint.id,
        level=EventLevel.INFO,
        reason="Scaled",
        message=change.message,
        now=server.clock.now(),
        scale=change,
    )

    result = run(server, "autoscale", "web")

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "min 0, max 3" in out
    assert "concurrency target 4/replica" in out
    assert "1 -> 2  scale_up: concurrency 7.5/replica > target 4 over 10 s" in out
    status = json_out(run(server, "autoscale", "web", "--json"))
    assert (status["target"], status["wanted"]) == (2, 2)


def test_helpful_errors_say_what_to_give(server: LiveServer) -> None:
    deploy(server)

    no_metric = run(server, "autoscale", "web", "--target", "4")
    assert no_metric.exit_code == 2
    assert "--metric" in said(no_metric) and "concurrency" in said(no_metric)

    no_target = run(server, "autoscale", "web", "--metric", "request_rate")
    assert no_target.exit_code == 2
    assert "--target" in said(no_target)

    bounds = run(server, "autoscale", "web", "--min", "3")
    assert bounds.exit_code == 2
    assert "give --max too" in said(bounds)

    custom = run(server, "autoscale", "web", "--metric", "custom", "--target", "2")
    assert custom.exit_code == 2
    assert "--custom-metric" in said(custom)

    missing = run(server, "autoscale", "nope")
    assert missing.exit_code == 1
    assert "modelport ls" in said(missing)
    assert not server.endpoint("web").spec.autoscale.enabled  # nothing was changed


def test_a_bad_rule_value_names_its_option(server: LiveServer) -> None:
    deploy(server)
    zero = run(server, "autoscale", "web", "--metric", "concurrency", "--target", "0")
    assert zero.exit_code == 2
    assert "--target" in said(zero) and "greater than 0" in said(zero)
    window = run(server, "autoscale", "web", *POLICY[4:], "--window", "-1")
    assert window.exit_code == 2
    assert "--window" in said(window)
