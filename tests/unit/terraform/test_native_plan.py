"""`modelport_endpoint`'s plan hook: what Terraform is told will change before any call."""

from __future__ import annotations

from typing import Any

from modelport.terraform.native import ModelportEndpoint
from modelport.terraform.tfcompat import Diagnostics, PlanningContext, Unknown

PRIOR: dict[str, Any] = {
    "name": "web",
    "spec": '{"framework":"custom"}',
    "stopped": False,
    "id": "1",
    "url": "http://gw/endpoints/web/v1",
    "phase": "ready",
    "generation": 3,
    "created_at": "2026-01-01T00:00:00Z",
    "spec_effective": "{}",
}


def plan(prior: dict[str, Any] | None, **config: Any) -> dict[str, Any]:
    planned = {**(prior or {}), **config}
    ctx = PlanningContext(Diagnostics(), "modelport_endpoint", changed_fields=set(), config=config)
    return ModelportEndpoint(provider=None).plan(ctx, prior, planned)


def test_unset_stopped_means_running_even_when_the_prior_was_stopped() -> None:
    assert plan({**PRIOR, "stopped": True}, stopped=None)["stopped"] is False
    assert plan(None, stopped=None)["stopped"] is False


def test_a_spec_change_leaves_generation_phase_and_effective_spec_unknown() -> None:
    planned = plan(PRIOR, spec='{"framework":"custom","replicas":2}', stopped=None)
    assert [k for k, v in planned.items() if v is Unknown] == [
        "phase",
        "generation",
        "spec_effective",
    ]
    assert planned["url"] == PRIOR["url"] and planned["id"] == "1"


def test_a_stop_leaves_only_the_phase_unknown() -> None:
    planned = plan(PRIOR, stopped=True)
    assert [k for k, v in planned.items() if v is Unknown] == ["phase"]


def test_no_change_plans_the_prior_state() -> None:
    assert plan(PRIOR, spec=PRIOR["spec"], stopped=None) == PRIOR


def test_spec_that_is_not_a_json_object_is_an_error_on_spec() -> None:
    diags = Diagnostics()
    ModelportEndpoint(provider=None).validate(
        diags, "modelport_endpoint", {"name": "web", "spec": "[]", "stopped": None}
    )
    assert diags.has_errors() and diags.diagnostics[0].path == ["spec"]
    assert "JSON object" in diags.diagnostics[0].summary + diags.diagnostics[0].detail
