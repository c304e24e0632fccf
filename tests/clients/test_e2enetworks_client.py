"""E2E's own `e2enetworks` SDK, unchanged, against a real server and real llama.cpp replicas.

Only the SDK's public functions are called (tests/clients/drivers/e2enetworks_driver.py runs
them in .venv-clients); the one thing it sends differently from E2E's cloud is the API host.
Plans, create (a GPU endpoint that waits saying why, and a custom container serving SmolLM2),
list, get, logs, replicas, restart one replica, autoscale up/down, replica count, async
status, stop, start, restart, delete; chat through the `openai` SDK at the inference URL the
API returned. Every call's answer is asserted, and the server log has no traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.conftest import need
from tests.support.server import ServerProcess, running_server, wait_until
from tests.support.vendor_clients import (
    CLIENTS_VENV,
    Answer,
    ClientDriver,
    server_log_problems,
)

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(900)]

TEAM = "1"  # any value: Modelport has no teams
API_KEY = "modelport"  # required by the SDK and sent in every URL; Modelport ignores it
LOCATION = "Delhi"
CPU_PLAN = "CPU-C3.2-2-8GB-0"  # the C3.2 plan, named as the SDK names plans
GPU_PLAN = "GPU-GDC3.A10080-16-115GB-1"  # one A100: a GPU this host lacks
SERVING = "smol-sdk"
WAITING = "gpu-vllm"


class Sdk:
    """The SDK's EndPoints, one call per method; `ok` unwraps its (success, data) answers."""

    def __init__(self, driver: ClientDriver) -> None:
        self.driver = driver

    def call(self, method: str, **arguments: Any) -> Answer:
        return self.driver.call("endpoints", method=method, **arguments)

    def attempt(self, method: str, **arguments: Any) -> Answer:
        return self.driver.attempt("endpoints", method=method, **arguments)

    def ok(self, method: str, **arguments: Any) -> Any:
        answer = self.call(method, **arguments)
        success, data = answer.result
        assert success is True, (method, answer.result, answer.printed)
        return data

    def endpoint(self, endpoint_id: int) -> dict[str, Any]:
        data: dict[str, Any] = self.ok("get", endpoint_id=endpoint_id)
        return data

    def replicas(self, endpoint_id: int) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = self.ok("list_replicas", endpoint_id=endpoint_id)
        return data

    def running(self, endpoint_id: int, count: int) -> list[dict[str, Any]] | None:
        """The replicas once exactly `count` exist, all Running, and the endpoint is Running."""
        replicas = self.replicas(endpoint_id)
        settled = (
            self.endpoint(endpoint_id)["status"] == "Running"
            and len(replicas) == count
            and all(r["status"] == "Running" for r in replicas)
        )
        return replicas if settled else None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    need((CLIENTS_VENV / "bin" / "python").exists(), "scripts/setup.sh --dev installs the clients")
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


@pytest.fixture(scope="module")
def project_id(server: ServerProcess) -> int:
    with server.api() as api:
        return int(api.get("/api/v1/whoami").json()["project_id"])


@pytest.fixture(scope="module")
def sdk(server: ServerProcess, project_id: int) -> Iterator[Sdk]:
    env = {**os.environ, "E2E_TIR_API_HOST": f"{server.base_url}/tir/"}
    driver = ClientDriver("e2enetworks_driver.py", env, server.home / "e2enetworks-driver.log")
    try:
        driver.call(
            "init",
            api_key=API_KEY,
            access_token=server.admin_token,
            team=TEAM,
            project=str(project_id),
            location=LOCATION,
        )
        yield Sdk(driver)
    finally:
        driver.close()


def llama_command(gguf: Path) -> list[str]:
    """A custom container's command that serves SmolLM2 with llama.cpp on the replica's port,
    requiring the replica key (custom commands get it as $MODELPORT_REPLICA_KEY)."""
    serve = (
        f'API_KEY="$MODELPORT_REPLICA_KEY" exec {sys.executable} -m llama_cpp.server '
        f'--model {gguf} --host "$HOST" --port "$PORT" --model_alias {SERVING} '
        "--n_ctx 512 --n_threads 1 --interrupt_requests false"
    )
    return ["sh", "-c", serve]


@pytest.fixture(scope="module")
def serving(sdk: Sdk, smollm2_path: Path) -> dict[str, Any]:
    """A custom container on the C3.2 plan, autoscaling on the SDK's default metric (cpu).

    The SDK's default target is 12 % CPU per replica, which a llama.cpp replica answering
    chats exceeds (cpu rules act): 95 % keeps this one-replica endpoint at one replica (its
    single thread uses at most half of the plan's two cores), so the tests below can name it."""
    data: dict[str, Any] = sdk.ok(
        "create",
        endpoint_name=SERVING,
        framework="custom",
        plan=CPU_PLAN,
        container_name="ghcr.io/ggml-org/llama.cpp:server",
        commands=llama_command(smollm2_path),
        is_auto_scale_enabled=True,
        min_replicas=1,
        max_replicas=2,
        value=95,
    )
    assert data["status"] == "Waiting"
    assert wait_until(lambda: sdk.running(data["id"], 1) is not None, 180), sdk.replicas(data["id"])
    return data


def test_plans_are_listed_under_the_names_the_sdk_builds(sdk: Sdk) -> None:
    answer = sdk.call("list_plans", framework="custom")
    assert CPU_PLAN in answer.printed.splitlines()
    cpu = {plan["name"]: plan for plan in answer.result["CPU"]}
    assert cpu["C3.2"]["sku_id"] == 101
    assert cpu["C3.2"]["code"] == CPU_PLAN
    # A GPU framework lists GPU plans only; Delhi's A100 plan is sku 162 (Chennai's is 40).
    gpu = sdk.call("list_plans", framework="vllm")
    assert gpu.result["CPU"] == []
    assert GPU_PLAN in gpu.printed.splitlines()
    assert {p["code"]: p["sku_id"] for p in gpu.result["GPU"]}[GPU_PLAN] == 162


@pytest.fixture(scope="module")
def waiting(sdk: Sdk) -> dict[str, Any]:
    """vLLM on Delhi's A100 plan, as the SDK creates it."""
    data: dict[str, Any] = sdk.ok(
        "create",
        endpoint_name=WAITING,
        framework="vllm",
        plan=GPU_PLAN,
        hugging_face_id="meta-llama/Llama-3.2-1B-Instruct",
    )
    return data


def test_a_gpu_endpoint_waits_and_says_what_is_missing(sdk: Sdk, waiting: dict[str, Any]) -> None:
    data = waiting
    assert data["sku_details"]["specs"] == {"name": "GDC3.A10080-16.115GB", "sku_id": 162}
    assert data["custom_endpoint_details"]["container"]["container_name"] == (
        "vllm/vllm-openai:latest"
    )

    def waiting() -> bool:
        replicas = sdk.replicas(data["id"])
        return len(replicas) == 1 and replicas[0]["reason"].startswith("InsufficientCapacity:")

    assert wait_until(waiting, 60), sdk.replicas(data["id"])
    (replica,) = sdk.replicas(data["id"])
    assert replica["status"] == "Pending"
    assert "needs 1x A100-80GB" in replica["reason"]
    assert sdk.endpoint(data["id"])["status"] == "Waiting"


def test_the_created_endpoint_serves_through_the_inference_url(
    sdk: Sdk, serving: dict[str, Any], server: ServerProcess, project_id: int
) -> None:
    url = serving["inference_url"]
    assert url == f"{server.base_url}/tir/project/p-{project_id}/endpoint/is-{serving['id']}/"
    for key in (server.admin_token, serving["api_key"]):
        client = OpenAI(base_url=f"{url}v1", api_key=key, max_retries=0)
        reply = client.chat.completions.create(
            model=SERVING, messages=[{"role": "user", "content": "Say hello"}], max_tokens=8
        )
        assert reply.choices[0].message.content
    # The SDK's body arrived as sent: its base64 Python-list command is the replica's command.
    with server.api() as api:
        spec = api.get(f"/api/v1/endpoints/{SERVING}").json()["spec"]
    assert spec["command"][:2] == ["sh", "-c"]
    assert spec["autoscale"]["rules"][0]["metric"] == "cpu"


def test_list_get_and_logs(sdk: Sdk, serving: dict[str, Any]) -> None:
    listed = {e["name"]: e for e in sdk.ok("list")}
    assert listed[SERVING]["id"] == serving["id"]
    assert listed[SERVING]["status"] == "Running"
    got = sdk.endpoint(serving["id"])
    assert (got["name"], got["framework"], got["replica"]) == (SERVING, "custom", 1)
    assert got["is_auto_scale_enabled"] is True
    (log,) = sdk.ok("logs", endpoint_id=serving["id"])
    (replica,) = sdk.replicas(serving["id"])
    assert log["replica_name"] == replica["replica_name"]
    assert "Uvicorn running" in log["logs"]


def test_restart_one_replica_replaces_it(sdk: Sdk, serving: dict[str, Any]) -> None:
    ep = serving["id"]
    (old,) = sdk.replicas(ep)
    assert old["replica_name"] == f"is-{ep}-replica-{old['replica_id']}"
    message = sdk.ok("restart_replica", replica_name=old["replica_name"], endpoint_id=ep)
    assert message == f"Replica {old['replica_name']} restarted successfully"

    def replaced() -> bool:
        now = sdk.running(ep, 1)
        return now is not None and now[0]["replica_name"] != old["replica_name"]

    assert wait_until(replaced, 120), sdk.replicas(ep)
    # A name the endpoint does not have: the SDK reports the server's 404 naming the field.
    gone = sdk.call("restart_replica", replica_name=old["replica_name"], endpoint_id=ep)
    success, response = gone.result
    assert success is False
    assert response["status_code"] == 404
    assert "replica_name" in response["json"]["errors"]


def test_autoscale_helpers_move_min_replicas(sdk: Sdk, serving: dict[str, Any]) -> None:
    ep = serving["id"]
    before = sdk.endpoint(ep)["auto_scale_policy"]
    assert (before["min_replicas"], before["max_replicas"]) == (1, 2)
    up = sdk.call("upscale_replica", endpoint_id=ep)
    assert up.result == "Replica upscaled successfully"
    policy = sdk.endpoint(ep)["auto_scale_policy"]
    assert (policy["min_replicas"], policy["max_replicas"]) == (2, 3)
    assert policy["rules"][0]["metric"] == "cpu"
    down = sdk.call("downscale_replica", endpoint_id=ep)
    assert down.result == "Replica downscaled successfully"
    policy = sdk.endpoint(ep)["auto_scale_policy"]
    assert (policy["min_replicas"], policy["max_replicas"]) == (1, 3)


def test_replica_count_change_runs_that_many(sdk: Sdk, serving: dict[str, Any]) -> None:
    ep = serving["id"]
    message = sdk.ok("manage_replica_count", replica_count=2, endpoint_id=ep)
    assert message == "Model Endpoint replica count updated successfully"
    got = sdk.endpoint(ep)
    assert (got["replica"], got["is_auto_scale_enabled"]) == (2, False)
    assert wait_until(lambda: sdk.running(ep, 2) is not None, 180), sdk.replicas(ep)
    sdk.ok("manage_replica_count", replica_count=1, endpoint_id=ep)
    assert wait_until(lambda: sdk.running(ep, 1) is not None, 120), sdk.replicas(ep)


def test_async_status_is_honest(
    sdk: Sdk, serving: dict[str, Any], waiting: dict[str, Any], server: ServerProcess
) -> None:
    ep = serving["id"]
    page = sdk.call("get_async_invocation_requests_list", endpoint_id=ep, fetch_requests_num=5)
    assert page.result == [True, []]
    # The SDK reads async_enabled from GET and refuses before asking the server.
    refused = sdk.attempt("get_async_invocation_request_status", endpoint_id=ep, request_id="r-1")
    assert refused.error is not None
    assert refused.error["message"].startswith("Async invocation not enable")
    # With async enabled (TIR's update_async_configuration; the SDK has no call for it) an
    # unknown request id is a 404 naming it.
    waiting_id = waiting["id"]
    with server.api() as api:
        made = api.post("/api/v1/datasets", json={"name": "sdk-results"})
        assert made.status_code == 201, made.text
        body = {"action": "update_async_configuration", "async_enabled": True,
                "async_concurrent_workers": 1, "async_dataset_id": made.json()["id"]}  # fmt: skip
        project = api.get("/api/v1/whoami").json()["project_id"]
        resp = api.put(f"/tir/serving/inference/{waiting_id}/?project_id={project}", json=body)
    assert resp.status_code == 200, resp.text
    assert sdk.endpoint(waiting_id)["async_enabled"] is True
    status = sdk.call("get_async_invocation_request_status", endpoint_id=waiting_id,
                      request_id="r-1")  # fmt: skip
    success, response = status.result
    assert success is False
    assert response["status_code"] == 404
    assert "request_id" in response["json"]["errors"]


def test_account_calls_say_they_do_not_apply(sdk: Sdk) -> None:
    success, response = sdk.call("get_integration").result
    assert success is False
    assert response["status_code"] == 404
    assert "not part of a self-hosted Modelport server" in response["json"]["message"]


def test_stop_start_and_restart(sdk: Sdk, serving: dict[str, Any]) -> None:
    ep = serving["id"]
    assert sdk.ok("stop", endpoint_id=ep) == "Model Endpoint stopped successfully"
    assert wait_until(lambda: sdk.endpoint(ep)["status"] == "Stopped", 60), sdk.endpoint(ep)
    assert sdk.replicas(ep) == []
    assert sdk.ok("start", endpoint_id=ep) == "Model Endpoint started successfully"
    assert wait_until(lambda: sdk.running(ep, 1) is not None, 120), sdk.replicas(ep)
    generation = sdk.endpoint(ep)["generation"]
    (before,) = sdk.replicas(ep)
    assert sdk.ok("restart", endpoint_id=ep) == "Model Endpoint restarted successfully"
    assert sdk.endpoint(ep)["generation"] == generation + 1

    def rolled() -> bool:  # a fresh replica took over
        now = sdk.running(ep, 1)
        return now is not None and now[0]["replica_name"] != before["replica_name"]

    assert wait_until(rolled, 120), sdk.replicas(ep)


def test_delete_removes_both_endpoints(
    sdk: Sdk, serving: dict[str, Any], waiting: dict[str, Any]
) -> None:
    for endpoint in (serving, waiting):
        message = sdk.ok("delete", endpoint_id=endpoint["id"])
        assert message == "Model Endpoint deleted successfully"
    assert wait_until(lambda: sdk.ok("list") == [], 120), sdk.ok("list")
    success, response = sdk.call("get", endpoint_id=serving["id"]).result
    assert (success, response["status_code"]) == (False, 404)


def test_the_server_log_has_no_traceback(server: ServerProcess) -> None:
    problems = server_log_problems(server.log_path.read_text(errors="replace"))
    assert problems == [], problems
    assert httpx.get(f"{server.base_url}/healthz").status_code == 200
