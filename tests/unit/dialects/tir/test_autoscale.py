"""TIR's autoscaling fields land in spec.autoscale with their meaning and are echoed back."""

from __future__ import annotations

from typing import Any

from tests.unit.dialects.tir.conftest import Tir, request

RULES = [
    {
        "metric": "concurrency",
        "condition_type": "limit",
        "value": 4,
        "watch_period": 30,
        "window": 10,
        "granularity": 2,
    },
    {"metric": "requestRate", "value": 20},
]


def test_create_maps_every_policy_field_and_the_answer_echoes_it(tir: Tir) -> None:
    policy = {
        "min_replica": 0,  # the Terraform provider's singular spelling
        "max_replica": 3,
        "stability_period": 90,
        "initial_cooldown_period": 15,
        "rules": RULES,
    }
    created = tir.created(request(is_auto_scale_enabled=True, auto_scale_policy=policy))

    auto = tir.native_endpoint("vllm-chat")["spec"]["autoscale"]
    assert auto["enabled"] is True
    assert (auto["min_replicas"], auto["max_replicas"]) == (0, 3)
    assert (auto["stability_period_seconds"], auto["initial_cooldown_seconds"]) == (90, 15)
    first, second = auto["rules"]
    assert (first["metric"], first["value"], first["condition_type"]) == ("concurrency", 4, "limit")
    assert (first["window_seconds"], first["watch_period_seconds"]) == (10, 30)
    assert first["granularity_seconds"] == 2
    assert (second["metric"], second["value"]) == ("request_rate", 20)
    echoed = tir.get(created["id"])
    assert echoed["is_auto_scale_enabled"] is True
    answer = echoed["auto_scale_policy"]
    assert (answer["min_replicas"], answer["max_replicas"]) == (0, 3)
    assert (answer["stability_period"], answer["initial_cooldown_period"]) == ("90", 15)
    assert [r["metric"] for r in answer["rules"]] == ["concurrency", "requestRate"]


def _update(tir: Tir, inference_id: int, policy: dict[str, Any], **extra: Any) -> None:
    body = {"action": "update_auto_scale", "auto_scale_policy": policy, **extra}
    resp = tir.put(inference_id, body)
    assert resp.status_code == 200, resp.text


def test_update_auto_scale_turns_it_on_keeps_replicas_and_the_native_idle_timeout(
    tir: Tir,
) -> None:
    ep = tir.created(request())
    before = tir.native_endpoint("vllm-chat")
    patched = tir.native(
        "PATCH", "/endpoints/vllm-chat", json={"spec": {"autoscale": {"idle_timeout_seconds": 45}}}
    )
    assert patched.status_code == 200, patched.text

    # What the e2enetworks SDK's upscale_replica sends: the policy alone.
    _update(tir, ep["id"], {"min_replicas": 0, "max_replicas": 2, "rules": RULES[:1]})

    after = tir.native_endpoint("vllm-chat")
    auto = after["spec"]["autoscale"]
    assert auto["enabled"] is True
    assert (auto["min_replicas"], auto["max_replicas"]) == (0, 2)
    assert auto["idle_timeout_seconds"] == 45  # TIR cannot say it; it is kept
    assert after["template_generation"] == before["template_generation"]  # no rollout
    status = tir.native("GET", "/endpoints/vllm-chat/autoscale").json()
    assert status["policy"] == auto

    _update(tir, ep["id"], {"max_replicas": 3}, is_auto_scale_enabled=False)
    off = tir.native_endpoint("vllm-chat")["spec"]["autoscale"]
    assert (off["enabled"], off["max_replicas"], off["idle_timeout_seconds"]) == (False, 3, 45)


def test_disable_auto_scale_sets_the_count_and_turns_it_off(tir: Tir) -> None:
    policy = {"min_replicas": 1, "max_replicas": 3, "rules": RULES[:1]}
    ep = tir.created(request(is_auto_scale_enabled=True, auto_scale_policy=policy))

    resp = tir.put(ep["id"], {"action": "disable_auto_scale", "replicas": 2})

    assert resp.status_code == 200, resp.text
    spec = tir.native_endpoint("vllm-chat")["spec"]
    assert (spec["replicas"], spec["autoscale"]["enabled"]) == (2, False)
    data = tir.get(ep["id"])
    assert (data["replica"], data["is_auto_scale_enabled"]) == (2, False)
    missing = tir.put(ep["id"], {"action": "disable_auto_scale"})
    assert missing.status_code == 400, missing.text
    assert "replicas" in missing.text


def test_update_auto_scale_errors_name_the_tir_field(tir: Tir) -> None:
    ep = tir.created(request())
    bad_bounds = tir.put(
        ep["id"],
        {
            "action": "update_auto_scale",
            "auto_scale_policy": {"min_replicas": 3, "max_replicas": 1},
        },
    )
    assert bad_bounds.status_code == 400, bad_bounds.text
    assert "max_replicas" in bad_bounds.text
    no_rule = tir.put(
        ep["id"],
        {"action": "update_auto_scale", "auto_scale_policy": {"max_replicas": 2, "rules": []}},
    )
    assert no_rule.status_code == 400, no_rule.text
    assert "auto_scale_policy.rules" in no_rule.text
    assert tir.native_endpoint("vllm-chat")["spec"]["autoscale"]["enabled"] is False
