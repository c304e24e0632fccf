"""Tensormesh's own clients against a real server: the `tensormesh` SDK (through its public API,
in .venv-clients) and its `tm` CLI (`--output json`), configured only by base URL and token.

SmolLM2 is deployed through the SDK as a Tensormesh model on llama.cpp (CPU) and serves; a
vLLM model asking for an H100 is deployed with `tm` and stays MODEL_STATUS_PENDING with the
reason. Then: whoami (the user id the on-demand client sends), list, get, validate, search by
infra, check, `:chat` (through the gateway), inference through the SDK's inference client at
the model's `endpoint`, the deployment's logs, a cloud-account call that does not apply, and
delete (no exception, gone afterwards). No call meets a 5xx; the server log shows no traceback.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ServerProcess, running_server, wait_until
from tests.support.vendor_clients import (
    Answer,
    ClientDriver,
    clients_bin,
    server_log_problems,
)

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(900)]

SERVING = "smol-sdk"
GPU = "qwen-h100"
API_KEY = "tm-client-key-0123456789abcdef"
NEBIUS = {"cloudProvider": "CLOUD_PROVIDER_NEBIUS", "nebiusRegion": "NEBIUS_REGION_EU_NORTH1"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


def control_plane_env(server: ServerProcess) -> dict[str, str]:
    """All a Tensormesh user changes: the control plane's base URL and the token."""
    return {
        "TENSORMESH_CONTROL_PLANE_BASE_URL": f"{server.base_url}/tensormesh",
        "TENSORMESH_CONTROL_PLANE_TOKEN": server.admin_token,
        "TENSORMESH_ENABLE_ON_DEMAND": "1",  # the SDK's switch for models and deployments
    }


@pytest.fixture(scope="module")
def sdk(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientDriver]:
    log = tmp_path_factory.mktemp("driver") / "tensormesh-driver.log"
    driver = ClientDriver("tensormesh_driver.py", control_plane_env(server), log)
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def tm(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`tm --output json ...`: the token where `tm auth login` would put it."""
    home = tmp_path_factory.mktemp("tm-home")
    (home / "auth.json").write_text(json.dumps({"access_token": server.admin_token}))
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "TM_CONFIG_HOME": str(home),
        **control_plane_env(server),
    }
    del env["TENSORMESH_CONTROL_PLANE_TOKEN"]  # tm reads auth.json, as after a login

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(clients_bin("tm")), "--output", "json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    return run


def tm_json(tm: Any, *args: str) -> Any:
    done = tm(*args)
    assert done.returncode == 0, f"tm {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def user_id(sdk: ClientDriver) -> str:
    user = sdk.call("whoami").result
    return str(user["id"])


@pytest.fixture(scope="module")
def models(
    sdk: ClientDriver, tm: Any, user_id: str, smollm2_path: Path, server: ServerProcess
) -> dict[str, dict[str, Any]]:
    serving = sdk.call(
        "deploy",
        request={
            "modelName": SERVING,
            "userId": user_id,
            "description": "SmolLM2 on llama.cpp",
            "modelPath": str(smollm2_path),
            "gpuCount": 0,
            "apiKey": API_KEY,
        },
    ).result
    gpu_request = {
        "modelName": GPU,
        "userId": user_id,
        "modelPath": "Qwen/Qwen2.5-0.5B-Instruct",
        "gpuCount": 1,
        "gpuType": "GPU_TYPE_H100",
        "infra": NEBIUS,
    }
    gpu = tm_json(tm, "models", "deploy", "--yes", "--json", json.dumps(gpu_request))["model"]
    assert wait_until(lambda: status(sdk, serving["modelId"]) == "MODEL_STATUS_UP", 180), sdk.call(
        "get", model_id=serving["modelId"]
    ).result
    return {SERVING: serving, GPU: gpu}


def status(sdk: ClientDriver, model_id: str) -> str:
    return str(sdk.call("get", model_id=model_id).result["status"])


def refused(answer: Answer, status_code: int) -> str:
    """The error the SDK raised for a 4xx: its message carries the Tensormesh envelope."""
    assert not answer.ok and answer.statuses[-1] == status_code, answer
    assert answer.error is not None
    return answer.error["message"]


def test_whoami_is_the_projects_user_in_the_sdk_and_the_cli(
    sdk: ClientDriver, tm: Any, user_id: str
):
    assert str(uuid.UUID(user_id)) == user_id
    user = sdk.call("whoami").result
    assert (user["displayName"], user["userRole"]) == ("default", "USER_ROLE_SUPER_ADMIN")
    assert tm_json(tm, "auth", "whoami")["user"]["id"] == user_id


def test_deploy_answers_the_key_once_and_the_inference_base(
    server: ServerProcess, models: dict[str, dict[str, Any]]
):
    serving = models[SERVING]
    assert serving["apiKey"] == API_KEY and serving["deploymentId"] == SERVING
    assert serving["endpoint"] == f"{server.base_url}/tensormesh/openai"
    assert models[GPU]["apiKey"].startswith("mp_")


def test_a_gpu_model_stays_pending_with_the_reason(
    sdk: ClientDriver, tm: Any, models: dict[str, dict[str, Any]]
):
    model_id = models[GPU]["modelId"]

    def waiting() -> list[str]:
        events = sdk.call("get", model_id=model_id).result["events"]
        return [e["log"] for e in events if e["log"].startswith("InsufficientCapacity: ")]

    assert wait_until(lambda: bool(waiting()), 60)
    assert "H100" in waiting()[-1]
    shown = tm_json(tm, "models", "get", model_id)["model"]
    assert (shown["status"], shown["gpuType"]) == ("MODEL_STATUS_PENDING", "GPU_TYPE_H100")


def test_list_and_get_in_the_sdk_and_the_cli(
    sdk: ClientDriver, tm: Any, user_id: str, models: dict[str, dict[str, Any]]
):
    listed = sdk.call("list", user_id=user_id).result
    assert [m["modelName"] for m in listed] == [SERVING, GPU]
    assert all(m["apiKey"] == "" for m in listed)  # the key was shown once
    assert [m["modelName"] for m in tm_json(tm, "models", "list")["models"]] == [SERVING, GPU]
    got = sdk.call("get", model_id=models[SERVING]["modelId"]).result
    assert (got["modelName"], got["status"]) == (SERVING, "MODEL_STATUS_UP")


def test_validate_search_and_check(
    sdk: ClientDriver, tm: Any, models: dict[str, dict[str, Any]], smollm2_path: Path
):
    assert sdk.call("validate", model_name=SERVING).result == {"isValid": False}
    assert sdk.call("validate", model_name="a-new-name").result == {"isValid": True}
    cli = tm_json(tm, "models", "validate-name", "--name", GPU)
    assert cli == {"isValid": False}

    found = sdk.call("search", infra={"cloudProvider": "CLOUD_PROVIDER_NEBIUS"}).result
    assert [m["modelName"] for m in found] == [GPU]
    query = json.dumps({"infra": {"cloudProvider": "CLOUD_PROVIDER_LAMBDA"}})
    assert tm_json(tm, "models", "search-by-infra", "--json", query) == {"models": []}

    checked = sdk.call("check", model_id=models[SERVING]["modelId"]).result
    size = round(smollm2_path.stat().st_size / 1024**3, 3)
    assert checked == {"requiredGpuMemoryGib": size, "requiredLmCacheMemoryGib": 0.0}
    message = refused(sdk.attempt("check", model_id=models[GPU]["modelId"]), 400)
    assert "Qwen/Qwen2.5-0.5B-Instruct" in message  # its weights are not on this server


def test_chat_goes_to_the_models_deployment(
    sdk: ClientDriver, tm: Any, models: dict[str, dict[str, Any]]
):
    model_id = models[SERVING]["modelId"]
    request = {"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 8}
    answer = sdk.call("chat", model_id=model_id, body=json.dumps(request)).result
    completion = json.loads(answer["response"])  # a JSON request: the completion as JSON
    assert completion["model"] == SERVING and completion["choices"][0]["message"]["content"]
    assert completion["usage"]["completion_tokens"] <= 8
    said = tm_json(tm, "models", "chat", model_id, "--message", "Say hello in one word")
    assert said["response"].strip()  # a message: the reply's text
    pending = sdk.attempt("chat", model_id=models[GPU]["modelId"], body="hi")
    assert "MODEL_STATUS_PENDING" in refused(pending, 400)


def test_the_inference_client_calls_the_model_at_its_endpoint(
    sdk: ClientDriver, user_id: str, models: dict[str, dict[str, Any]]
):
    base = models[SERVING]["endpoint"]
    on_demand = {"base_url": base, "api_key": API_KEY, "user_id": user_id}
    messages = [{"role": "user", "content": "Say hello"}]
    reply = sdk.call(
        "infer", what="chat", model=SERVING, messages=messages, max_tokens=8, **on_demand
    )
    assert reply.result["choices"][0]["message"]["content"]
    assert all(x["url"].startswith(f"{base}/v1/") for x in reply.http)
    text = sdk.call(
        "infer", what="completions", model=SERVING, prompt="Once", max_tokens=4, **on_demand
    )
    assert text.result["choices"][0]["text"]
    listed = sdk.call("infer", what="models", **on_demand).result
    assert [m["id"] for m in listed["data"]] == [SERVING]  # the key sees its model only
    serverless = sdk.call(
        "infer", what="chat", model=SERVING, messages=messages, max_tokens=4,
        base_url=base, api_key=API_KEY,
    )  # fmt: skip
    assert serverless.result["choices"][0]["message"]["content"]


def test_tm_infer_chat_finds_the_latest_model_and_the_user_from_the_control_plane(
    tm: Any, models: dict[str, dict[str, Any]]
):
    """`--model @latest` picks the newest MODEL_STATUS_UP model; the X-User-Id comes from
    whoami, as `tm` derives it when only the control plane token is configured."""
    request = json.dumps({"messages": [{"role": "user", "content": "Say hello"}], "max_tokens": 8})
    reply = tm_json(
        tm, "infer", "chat", "--surface", "on-demand", "--model", "@latest",
        "--base-url", models[SERVING]["endpoint"], "--api-key", API_KEY, "--json", request,
    )  # fmt: skip
    assert reply["model"] == SERVING and reply["choices"][0]["message"]["content"]


def test_the_inference_clients_server_routes(
    sdk: ClientDriver, user_id: str, models: dict[str, dict[str, Any]]
):
    on_demand = {"base_url": models[SERVING]["endpoint"], "api_key": API_KEY, "user_id": user_id}
    assert sdk.call("infer", what="health", **on_demand).result["status"]
    assert sdk.call("infer", what="version", **on_demand).result["version"]
    tokens = sdk.call("infer", what="tokenize", model=SERVING, prompt="Hello", **on_demand).result
    assert tokens["tokens"]
    text = sdk.call(
        "infer", what="detokenize", model=SERVING, tokens=tokens["tokens"], **on_demand
    ).result
    assert "Hello" in text["prompt"]


def test_deployment_logs_and_metrics(sdk: ClientDriver, tm: Any, models: dict[str, dict[str, Any]]):
    logs = sdk.call("logs", deployment_id=SERVING, limit=5).result
    assert 0 < len(logs) <= 5 and all(entry["message"] for entry in logs)
    newest_first = tm_json(tm, "logs", SERVING, "--limit", "5", "--direction", "desc")["logs"]
    assert 0 < len(newest_first) <= 5  # (the engine logs on: the lines differ from above)
    assert sdk.call("metrics", deployment_id=SERVING).result == []
    assert refused(sdk.attempt("logs", deployment_id="no-such-deployment"), 404)


def test_cloud_account_calls_say_they_do_not_apply(sdk: ClientDriver, tm: Any):
    message = refused(sdk.attempt("balance"), 404)
    assert "billing: not applicable to a self-hosted Modelport server" in message
    login = tm("auth", "login", "--no-open-browser")
    assert login.returncode != 0
    assert "not applicable to a self-hosted Modelport server" in login.stdout + login.stderr


def test_delete_answers_empty_and_the_models_are_gone(
    sdk: ClientDriver, tm: Any, models: dict[str, dict[str, Any]]
):
    serving_id, gpu_id = models[SERVING]["modelId"], models[GPU]["modelId"]
    assert sdk.call("delete", model_id=serving_id).result == {}
    assert tm_json(tm, "models", "delete", gpu_id, "--yes") == {}

    def gone(model_id: str) -> bool:
        return sdk.attempt("get", model_id=model_id).statuses == [404]

    assert wait_until(lambda: gone(serving_id) and gone(gpu_id), 60)
    assert sdk.call("list").result == []


def test_the_server_log_shows_no_traceback(server: ServerProcess, models: Any):
    assert server_log_problems(server.log_path.read_text()) == []
