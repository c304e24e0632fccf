"""List, read, scale, stop, start and delete deployments; projects and tokens; GPU shortage."""

from __future__ import annotations

from typing import Any

from modelport.controller.loop import Controller
from modelport.runtime.fake import FakeRuntime
from modelport.settings import Settings
from tests.unit.dialects.deepinfra.conftest import DeepInfra, body, seed_example


def native_of(di: DeepInfra, model_name: str) -> dict[str, Any]:
    return di.native_endpoint(model_name)


def test_list_and_get_show_deployments_of_this_project_only(di: DeepInfra):
    one = di.deployed(body("acme/one"))
    two = di.deployed(body("acme/two"))
    native = {"name": "plain", "spec": {"framework": "custom", "command": ["serve", "{port}"]}}
    assert di.native("POST", "/endpoints", json=native).status_code == 201
    listed = di.call("GET", "/deploy/list").json()
    assert sorted(d["deploy_id"] for d in listed) == sorted([one["deploy_id"], two["deploy_id"]])
    got = di.call("GET", f"/deploy/{one['deploy_id']}")
    assert got.status_code == 200
    assert got.json() == one
    assert di.call("GET", "/deploy/list", who="other_admin").json() == []


def test_another_projects_deploy_id_is_not_found(di: DeepInfra):
    deploy_id = di.deployed(seed_example())["deploy_id"]
    for method, path, kwargs in [
        ("GET", f"/deploy/{deploy_id}", {}),
        ("PUT", f"/deploy/{deploy_id}", {"json": {"settings": {"max_instances": 3}}}),
        ("POST", f"/deploy/{deploy_id}/stop", {}),
        ("POST", f"/deploy/{deploy_id}/start", {}),
        ("DELETE", f"/deploy/{deploy_id}", {}),
    ]:
        resp = di.call(method, path, who="other_admin", **kwargs)
        assert resp.status_code == 404, (method, path, resp.text)
        assert deploy_id in resp.json()["detail"]
    native = native_of(di, "acme/smollm2-chat")
    assert native["desired_state"] == "running"  # untouched
    assert native["spec"]["replicas"] == 1
    assert di.call("GET", "/deploy/nosuchid00").status_code == 404


def test_stop_start_and_delete_change_the_desired_state(di: DeepInfra):
    deploy_id = di.deployed(seed_example())["deploy_id"]
    stopped = di.call("POST", f"/deploy/{deploy_id}/stop")
    assert stopped.status_code == 200
    assert stopped.json()["status"] == "stopped"
    assert native_of(di, "acme/smollm2-chat")["desired_state"] == "stopped"
    listed = di.call("GET", "/deploy/list", params={"status": "stopped"}).json()
    assert [d["deploy_id"] for d in listed] == [deploy_id]
    assert di.call("GET", "/deploy/list", params={"status": "running,initializing"}).json() == []

    started = di.call("POST", f"/deploy/{deploy_id}/start")
    assert started.json()["status"] == "initializing"
    assert native_of(di, "acme/smollm2-chat")["desired_state"] == "running"

    deleted = di.call("DELETE", f"/deploy/{deploy_id}")
    assert deleted.status_code == 200
    assert deleted.json()["status"] == "deleted"
    assert native_of(di, "acme/smollm2-chat")["desired_state"] == "deleted"
    # Until the controller removes it, it reads as deleted; it can no longer be started.
    assert di.call("GET", f"/deploy/{deploy_id}").json()["status"] == "deleted"
    resp = di.call("POST", f"/deploy/{deploy_id}/start")
    assert resp.status_code == 409
    assert "being deleted" in resp.json()["detail"]
    again = di.deploy(seed_example())
    assert again.status_code == 409
    assert again.json()["detail"].startswith("model_name:")


def test_put_changes_settings_only(di: DeepInfra):
    deploy_id = di.deployed(seed_example())["deploy_id"]
    resp = di.call("PUT", f"/deploy/{deploy_id}", json={"settings": {"max_instances": 3}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["settings"] == {"min_instances": 1, "max_instances": 3}
    spec = native_of(di, "acme/smollm2-chat")["spec"]
    assert spec["replicas"] == 1
    assert spec["autoscale"]["enabled"] is True
    assert (spec["autoscale"]["min_replicas"], spec["autoscale"]["max_replicas"]) == (1, 3)

    resp = di.call(
        "PUT", f"/deploy/{deploy_id}", json={"settings": {"min_instances": 2, "max_instances": 2}}
    )
    assert resp.json()["settings"] == {"min_instances": 2, "max_instances": 2}
    spec = native_of(di, "acme/smollm2-chat")["spec"]
    assert spec["replicas"] == 2
    assert spec["autoscale"]["enabled"] is False
    assert di.call("GET", f"/deploy/{deploy_id}").json()["settings"] == resp.json()["settings"]


def test_put_settings_must_stay_ordered(di: DeepInfra):
    deploy_id = di.deployed(seed_example())["deploy_id"]
    resp = di.call("PUT", f"/deploy/{deploy_id}", json={"settings": {"min_instances": 4}})
    assert resp.status_code == 422
    [detail] = resp.json()["detail"]
    assert detail["loc"] == ["body", "settings", "max_instances"]
    resp = di.call("PUT", f"/deploy/{deploy_id}", json={"settings": {"max_instances": 101}})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "settings", "max_instances"]
    assert native_of(di, "acme/smollm2-chat")["spec"]["replicas"] == 1


def test_config_is_immutable(di: DeepInfra):
    deploy_id = di.deployed(seed_example())["deploy_id"]
    generation = native_of(di, "acme/smollm2-chat")["generation"]
    for change, loc in [
        ({"gpu": "H100-80GB"}, ["body", "gpu"]),
        ({"num_gpus": 2}, ["body", "num_gpus"]),
        ({"max_batch_size": 8}, ["body", "max_batch_size"]),
        ({"model_name": "acme/renamed"}, ["body", "model_name"]),
        ({"extra_args": []}, ["body", "extra_args"]),
        ({"base_model": "other/base"}, ["body", "base_model"]),
        ({"hf": {"repo": "other/weights"}}, ["body", "hf", "repo"]),
        ({"hf": {"repo": "x/y", "token": "hf_new"}}, ["body", "hf", "token"]),
    ]:
        resp = di.call("PUT", f"/deploy/{deploy_id}", json={**change, "settings": {}})
        assert resp.status_code == 422, (change, resp.text)
        [detail] = resp.json()["detail"]
        assert detail["loc"] == loc
        assert detail["type"] == "immutable"
        assert "immutable" in detail["msg"]
        assert "hf_new" not in resp.text
    assert native_of(di, "acme/smollm2-chat")["generation"] == generation
    # Sending the config unchanged (as read back) is fine.
    same = {k: seed_example()[k] for k in ("gpu", "num_gpus", "max_batch_size", "model_name")}
    resp = di.call("PUT", f"/deploy/{deploy_id}", json=same)
    assert resp.status_code == 200, resp.text


def test_tokens_xi_api_key_and_roles(di: DeepInfra):
    assert di.call("GET", "/deploy/list", who=None).status_code == 401
    bad = di.call("GET", "/deploy/list", who="mp_not-a-token")
    assert bad.status_code == 401
    assert isinstance(bad.json()["detail"], str)
    key = di.world.keys["admin"]
    resp = di.call("POST", "/deploy/llm", who=None, json=body(), headers={"xi-api-key": key})
    assert resp.status_code == 200, resp.text
    listed = di.call("GET", "/deploy/list", who=None, headers={"xi-api-key": key})
    assert [d["model_name"] for d in listed.json()] == ["acme/chat-model"]
    assert di.call("GET", "/deploy/list", who="viewer").status_code == 200
    denied = di.deploy(body("acme/other"), who="viewer")
    assert denied.status_code == 403
    deploy_id = listed.json()[0]["deploy_id"]
    assert di.call("POST", f"/deploy/{deploy_id}/stop", who="viewer").status_code == 403


async def test_a_gpu_this_host_lacks_reports_initializing_with_the_reason(di: DeepInfra):
    deploy_id = di.deployed(seed_example() | {"gpu": "H100-80GB", "num_gpus": 2})["deploy_id"]
    world = di.world
    controller = Controller(
        world.store, FakeRuntime(), world.box, world.clock, Settings(), holder_id="test"
    )
    for _ in range(3):
        await controller.tick()
        world.clock.advance(1.0)
    out = di.call("GET", f"/deploy/{deploy_id}").json()
    assert out["status"] == "initializing"
    assert out["instances"] == {"running": 0, "pending": 1}
    assert out["fail_reason"].startswith("InsufficientCapacity:")
    assert "2x H100-80GB" in out["fail_reason"]
    native = native_of(di, "acme/smollm2-chat")
    assert native["phase"] == "pending"
    listed = di.call("GET", "/deploy/list", params={"status": "initializing"}).json()
    assert [d["deploy_id"] for d in listed] == [deploy_id]
