"""Where the autoscale policy is parsed, min_replica / max_replica (TIR's Terraform provider's
spelling) mean min_replicas / max_replicas; TIR's initial_cooldown_period reaches the policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modelport.dialects.tir import parts
from modelport.dialects.tir.schemas import AutoScalePolicyIn
from modelport.domain.specs import AutoscalePolicy, EndpointSpec


def test_the_native_policy_accepts_the_singular_spelling() -> None:
    policy = AutoscalePolicy.model_validate({"enabled": True, "min_replica": 0, "max_replica": 3})
    assert (policy.min_replicas, policy.max_replicas) == (0, 3)
    plural = AutoscalePolicy.model_validate({"min_replicas": 2, "max_replicas": 4})
    assert (plural.min_replicas, plural.max_replicas) == (2, 4)
    # Stored and answered under the plural names only.
    assert "min_replica" not in policy.model_dump()
    assert policy.model_dump()["max_replicas"] == 3


def test_the_native_policy_checks_the_singular_spelling_like_the_plural() -> None:
    with pytest.raises(ValidationError, match="max_replicas: must be >= min_replicas"):
        AutoscalePolicy.model_validate({"min_replica": 3, "max_replica": 1})
    with pytest.raises(ValidationError) as bad:
        AutoscalePolicy.model_validate({"min_replica": -1})
    assert bad.value.errors()[0]["loc"] == ("min_replica",)  # named as the client spelled it


def test_an_endpoint_spec_takes_the_singular_spelling() -> None:
    spec = EndpointSpec.model_validate(
        {
            "framework": "custom",
            "command": ["serve", "{port}"],
            "autoscale": {"enabled": True, "min_replica": 1, "max_replica": 5},
        }
    )
    assert (spec.autoscale.min_replicas, spec.autoscale.max_replicas) == (1, 5)


def test_tir_accepts_both_spellings_and_maps_the_initial_cooldown() -> None:
    rules = [{"metric": "concurrency", "value": 4}]
    for body in (
        {"min_replica": 0, "max_replica": 4, "initial_cooldown_period": 600, "rules": rules},
        {"min_replicas": 0, "max_replicas": 4, "initial_cooldown_period": 600, "rules": rules},
    ):
        policy = parts.autoscale(True, AutoScalePolicyIn.model_validate(body))
        assert (policy.min_replicas, policy.max_replicas) == (0, 4)
        assert policy.initial_cooldown_seconds == 600
    with pytest.raises(ValidationError, match="max_replicas: must be >= min_replicas"):
        AutoScalePolicyIn.model_validate({"min_replica": 4, "max_replica": 2})
