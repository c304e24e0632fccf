"""The control plane calls of Tensormesh's own SDK and `tm` CLI besides deploy/list/get/delete:
whoami, validate, search-by-infra, check, the admin listing, deployment logs and metrics, and
the cloud-account calls that do not apply. (`:chat` goes through the gateway: it is tested
end to end in tests/clients/test_tensormesh_client.py.)"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.unit.dialects.tensormesh.conftest import USER_ID, Tm, assert_rpc_error, body


def profile(tm: Tm, who: str) -> dict[str, Any]:
    resp = tm.client.get("/tensormesh/auth/profile", headers=auth(tm, who))
    assert resp.status_code == 200, resp.text
    user: dict[str, Any] = resp.json()["user"]
    return user


def auth(tm: Tm, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tm.world.keys.get(who, who)}"}


def test_whoami_is_the_project_as_one_user_with_the_tokens_role(tm: Tm):
    admin, member = profile(tm, "admin"), profile(tm, "member")
    assert str(uuid.UUID(admin["id"])) == admin["id"]  # the userId to deploy with
    assert admin["id"] == member["id"]  # one project, one Tensormesh user
    assert profile(tm, "other_member")["id"] != admin["id"]
    assert (admin["displayName"], admin["userRole"]) == ("team-a", "USER_ROLE_ADMIN")
    assert (member["userRole"], member["modelportRole"]) == ("USER_ROLE_USER", "member")
    assert profile(tm, "server_admin")["userRole"] == "USER_ROLE_SUPER_ADMIN"
    resp = tm.client.get("/tensormesh/auth/profile")
    assert_rpc_error(resp, 401, 16, None)


def test_a_model_deploys_with_the_whoami_user_id(tm: Tm):
    user_id = profile(tm, "member")["id"]
    model = tm.deployed(body("mine", userId=user_id))
    listed = tm.call("member", "GET", f"/models?userId={user_id}").json()["models"]
    assert [m["modelId"] for m in listed] == [model["modelId"]]


def test_validate_says_whether_a_name_can_be_deployed_now(tm: Tm):
    tm.deployed(body("taken"))

    def valid(name: str) -> bool:
        resp = tm.call("member", "POST", "/models:validate", json={"modelName": name})
        assert resp.status_code == 200, resp.text
        return bool(resp.json()["isValid"])

    assert valid("free-name") and valid("Llama 3.2 / 1B")
    assert not valid("taken")  # the same modelName exists in this project
    assert not valid("") and not valid("bad\nname") and not valid("x" * 201)
    assert tm.call("other_member", "POST", "/models:validate", json={"modelName": "taken"}).json()[
        "isValid"
    ]  # another project's names do not count
    bad = tm.call("member", "POST", "/models:validate", json={"modelName": "a", "userId": "me"})
    assert_rpc_error(bad, 400, 3, "userId")


def test_search_by_infra_finds_the_models_with_every_field_asked(tm: Tm):
    nebius = {"cloudProvider": "CLOUD_PROVIDER_NEBIUS", "nebiusRegion": "NEBIUS_REGION_EU_NORTH1"}
    tm.deployed(body("on-nebius", infra=nebius))
    tm.deployed(body("on-lambda", infra={"cloudProvider": "CLOUD_PROVIDER_LAMBDA"}))
    tm.deployed(body("anywhere"))

    def found(query: dict[str, Any]) -> list[str]:
        resp = tm.call("member", "POST", "/models:search-by-infra", json=query)
        assert resp.status_code == 200, resp.text
        return sorted(m["modelName"] for m in resp.json()["models"])

    assert found({"infra": {"cloudProvider": "CLOUD_PROVIDER_NEBIUS"}}) == ["on-nebius"]
    assert found({"infra": nebius, "userId": USER_ID}) == ["on-nebius"]
    assert found({"infra": {"nebiusRegion": "NEBIUS_REGION_US_CENTRAL1"}}) == []
    assert found({"infra": {}}) == ["anywhere", "on-lambda", "on-nebius"]
    assert_rpc_error(tm.call("member", "POST", "/models:search-by-infra", json={}), 400, 3, "infra")
    wrong = {"infra": {"cloudProvider": "CLOUD_PROVIDER_MARS"}}
    assert_rpc_error(
        tm.call("member", "POST", "/models:search-by-infra", json=wrong),
        400,
        3,
        "infra.cloudProvider",
    )


def test_check_measures_a_local_model_and_says_why_not_otherwise(tm: Tm, tmp_path: Path):
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(3 * 1024 * 1024))
    local = tm.deployed(body("local", modelPath=str(gguf), gpuCount=0, gpuType=None))
    resp = tm.call("member", "POST", "/models/check", json={"modelId": local["modelId"]})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"requiredGpuMemoryGib": 0.003, "requiredLmCacheMemoryGib": 0.0}

    hub = tm.deployed(body("hub", cpuOffloadingEnabled=True))  # vLLM: offloads 8 GiB
    resp = tm.call("member", "POST", "/models/check", json={"modelId": hub["modelId"]})
    message = assert_rpc_error(resp, 400, 9, "modelId")
    assert "meta-llama/Llama-3.2-1B-Instruct" in message
    missing = {"modelId": str(uuid.uuid4())}
    assert_rpc_error(tm.call("member", "POST", "/models/check", json=missing), 404, 5, "modelId")
    assert_rpc_error(tm.call("member", "POST", "/models/check", json={}), 400, 3, "modelId")


def test_unknown_methods_are_404_and_a_post_on_a_model_is_405(tm: Tm):
    model = tm.deployed(body("verbs"))
    resp = tm.call("member", "POST", f"/models/{model['modelId']}:explode", json={})
    assert "no such method" in assert_rpc_error(resp, 404, 5, None)
    resp = tm.call("member", "POST", "/models:explode", json={})
    assert "no such method" in assert_rpc_error(resp, 404, 5, None)
    assert_rpc_error(
        tm.call("member", "POST", f"/models/{model['modelId']}", json={}), 405, 12, None
    )


def test_chat_needs_a_serving_model(tm: Tm):
    model = tm.deployed(body("not-yet"))  # no controller here: it never serves
    resp = tm.call("member", "POST", f"/models/{model['modelId']}:chat", json={"body": "hi"})
    assert "MODEL_STATUS_DEPLOYING" in assert_rpc_error(resp, 400, 9, "modelId")
    missing = f"/models/{uuid.uuid4()}:chat"
    assert_rpc_error(tm.call("member", "POST", missing, json={"body": "hi"}), 404, 5, "modelId")


def test_the_admin_listing_pages_the_projects_models_for_admins_only(tm: Tm):
    for name in ("m1", "m2", "m3"):
        tm.deployed(body(name))
    page = tm.call("admin", "GET", "/admin/models?page=2&size=2").json()
    assert ([m["modelName"] for m in page["models"]], page["total"]) == (["m3"], 3)
    assert (page["page"], page["size"]) == (2, 2)
    everything = tm.call("admin", "GET", "/admin/models").json()
    assert [m["modelName"] for m in everything["models"]] == ["m1", "m2", "m3"]
    assert_rpc_error(tm.call("member", "GET", "/admin/models"), 403, 7, None)
    assert_rpc_error(tm.call("admin", "GET", "/admin/models?page=0"), 400, 3, "page")
    m1 = everything["models"][0]["modelId"]
    assert_rpc_error(tm.call("member", "DELETE", f"/admin/models/{m1}"), 403, 7, None)
    resp = tm.call("admin", "DELETE", f"/admin/models/{m1}")
    assert (resp.status_code, resp.json()) == (200, {})


def test_deployment_logs_and_metrics_answer_for_the_callers_deployments(tm: Tm):
    model = tm.deployed(body("observed"))
    base = f"/observability/deployments/{model['deploymentId']}"
    logs = tm.call("member", "GET", f"{base}/logs?limit=10")
    assert (logs.status_code, logs.json()) == (200, {"logs": []})  # no replica has run
    assert tm.call("member", "GET", f"{base}/metrics").json() == {"metrics": []}
    timed = tm.call("member", "GET", f"{base}/logs?startTime=2024-01-01T00:00:00Z")
    assert "no timestamps" in assert_rpc_error(timed, 400, 3, "startTime")
    foreign = f"/observability/deployments/{model['deploymentId']}/logs"
    assert tm.call("other_member", "GET", foreign).status_code == 404
    assert tm.call("other_member", "GET", f"{base}/metrics").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "area"),
    [
        ("GET", "/tensormesh/v1/billing/balance", "billing"),
        ("POST", "/tensormesh/v1/billing/stripe/payment-intents", "billing"),
        ("GET", "/tensormesh/v1/support/tickets", "support"),
        ("POST", "/tensormesh/v1/users/accept-tos", "user accounts"),
        ("GET", "/tensormesh/v1/users/api-keys", "user accounts"),
        ("POST", "/tensormesh/auth/cli/start", "sign-in"),
        ("GET", "/tensormesh/v1/products", "products"),
        ("GET", "/tensormesh/v1/activities", "activity"),
        ("GET", "/tensormesh/v1/observability/users/metrics", "usage"),
    ],
)
def test_cloud_account_calls_say_they_do_not_apply(tm: Tm, method: str, path: str, area: str):
    resp = tm.client.request(method, path, headers=auth(tm, "member"))
    message = assert_rpc_error(resp, 404, 5, None)
    assert area in message and "not applicable to a self-hosted Modelport server" in message
