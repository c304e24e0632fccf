"""DeepInfra's settings{min_instances, max_instances} land in spec.autoscale and are echoed."""

from __future__ import annotations

from typing import Any

from tests.unit.dialects.deepinfra.conftest import DeepInfra, seed_example


def native_spec(di: DeepInfra) -> dict[str, Any]:
    (item,) = di.native("GET", "/endpoints").json()["items"]
    spec: dict[str, Any] = item["spec"]
    return spec


def test_min_below_max_autoscales_on_concurrency_per_batch(di: DeepInfra) -> None:
    body = {
        **seed_example(),
        "max_batch_size": 8,
        "settings": {"min_instances": 0, "max_instances": 2},
    }

    deployed = di.deployed(body)

    spec = native_spec(di)
    auto = spec["autoscale"]
    assert (auto["enabled"], auto["min_replicas"], auto["max_replicas"]) == (True, 0, 2)
    assert [(r["metric"], r["value"]) for r in auto["rules"]] == [("concurrency", 8)]
    assert spec["replicas"] == 1  # one instance starts; idle, it goes to zero
    assert deployed["settings"] == {"min_instances": 0, "max_instances": 2}
    got = di.call("GET", f"/deploy/{deployed['deploy_id']}").json()
    assert got["settings"] == {"min_instances": 0, "max_instances": 2}


def test_equal_bounds_are_a_fixed_count(di: DeepInfra) -> None:
    di.deployed({**seed_example(), "settings": {"min_instances": 2, "max_instances": 2}})
    spec = native_spec(di)
    assert (spec["replicas"], spec["autoscale"]["enabled"]) == (2, False)


def test_put_changes_the_bounds_and_keeps_the_rule_and_native_idle_timeout(di: DeepInfra) -> None:
    deploy_id = di.deployed(seed_example())["deploy_id"]
    name = di.native("GET", "/endpoints").json()["items"][0]["name"]
    patch = {"spec": {"autoscale": {"idle_timeout_seconds": 30}}}
    assert di.native("PATCH", f"/endpoints/{name}", json=patch).status_code == 200
    template = native_spec_template(di)

    resp = di.call("PUT", f"/deploy/{deploy_id}", json={"settings": {"min_instances": 0}})

    assert resp.status_code == 200, resp.text
    assert resp.json()["settings"] == {"min_instances": 0, "max_instances": 1}
    auto = native_spec(di)["autoscale"]
    assert (auto["enabled"], auto["min_replicas"], auto["max_replicas"]) == (True, 0, 1)
    assert auto["idle_timeout_seconds"] == 30
    assert [(r["metric"], r["value"]) for r in auto["rules"]] == [("concurrency", 96)]
    assert native_spec_template(di) == template  # no rollout
    status = di.native("GET", f"/endpoints/{name}/autoscale").json()
    assert status["policy"] == auto


def native_spec_template(di: DeepInfra) -> int:
    (item,) = di.native("GET", "/endpoints").json()["items"]
    return int(item["template_generation"])
