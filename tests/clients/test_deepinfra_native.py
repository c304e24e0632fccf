"""DeepInfra's own inference API against a real server, as DeepInfra's clients call it.

SmolLM2 is deployed through `POST /deepinfra/deploy/llm` (llama.cpp on CPU), then called with
plain HTTP in DeepInfra's documented shapes at `POST /deepinfra/v1/inference/{model}`: text
generation, whole and streamed, and embeddings (a second deployment with `--embedding`, its
token vectors mean-pooled by llama.cpp); and with the `openai` SDK at `/deepinfra/v1/openai`.
Bad input, an unknown model and a missing token are answered in DeepInfra's `{"detail": ...}`
envelope; the deployment reports pending instances while it starts and says `stopped` only
once no replica can answer. The server log shows no traceback and no 500.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from tests.support.server import ServerProcess, pid_alive, running_server, wait_until
from tests.support.vendor_clients import server_log_problems

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

CHAT = "native-user/smollm2-chat"
EMBED = "native-user/smollm2-embed"
PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


def _headers(server: ServerProcess) -> dict[str, str]:
    return {"Authorization": f"bearer {server.admin_token}"}  # DeepInfra's docs: lower-case


def _deploy_api(server: ServerProcess, method: str, path: str, **kwargs: Any) -> Any:
    resp = httpx.request(
        method, f"{server.base_url}/deepinfra{path}", headers=_headers(server), timeout=30, **kwargs
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def _infer(server: ServerProcess, model: str, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/deepinfra/v1/inference/{model}",
        headers=kwargs.pop("headers", _headers(server)),
        json=body,
        timeout=120,
        **kwargs,
    )


def _deploy(server: ServerProcess, model_name: str, gguf: Path, *extra: str) -> dict[str, Any]:
    request = {
        "model_name": model_name,
        "gpu": "other",  # a local GGUF on CPU
        "max_batch_size": 2,
        "hf": {"repo": str(gguf)},
        "settings": {"min_instances": 1, "max_instances": 1},
        "extra_args": list(extra) or None,
    }
    out: dict[str, Any] = _deploy_api(server, "POST", "/deploy/llm", json=request)
    return out


def _status(server: ServerProcess, deploy_id: str) -> dict[str, Any]:
    out: dict[str, Any] = _deploy_api(server, "GET", f"/deploy/{deploy_id}")
    return out


@pytest.fixture(scope="module")
def deployments(server: ServerProcess, smollm2_path: Path) -> dict[str, dict[str, Any]]:
    """Both deployments, each observed until it runs; every answer on the way is kept."""
    chat = _deploy(server, CHAT, smollm2_path)
    # SmolLM2 as an embedding model: llama.cpp mean-pools its token vectors (pooling type 1).
    pooled = ("--embedding", "true", "--kv_overrides", "llama.pooling_type=int:1")
    embed = _deploy(server, EMBED, smollm2_path, *pooled)
    seen = {CHAT: [chat], EMBED: [embed]}

    def running(model_name: str, out: dict[str, Any]) -> bool:
        now = _status(server, out["deploy_id"])
        seen[model_name].append(now)
        return now["status"] == "running"

    assert wait_until(lambda: running(CHAT, chat), 180), seen[CHAT][-1]
    assert wait_until(lambda: running(EMBED, embed), 180), seen[EMBED][-1]
    return {name: {"deploy": answers[0], "seen": answers} for name, answers in seen.items()}


def test_instances_are_pending_until_they_serve(deployments: dict[str, dict[str, Any]]):
    for name, found in deployments.items():
        fresh = found["deploy"]
        assert fresh["status"] in ("initializing", "deploying"), fresh
        assert fresh["instances"] == {"running": 0, "pending": 1}, name
        for seen in found["seen"]:
            expected = (1, 0) if seen["status"] == "running" else (0, 1)
            assert (seen["instances"]["running"], seen["instances"]["pending"]) == expected, seen


def test_text_generation_in_deepinfras_shape(
    server: ServerProcess, deployments: dict[str, dict[str, Any]]
):
    deploy_id = deployments[CHAT]["deploy"]["deploy_id"]
    body = {"input": PROMPT, "max_new_tokens": 6, "temperature": 0, "seed": 1}
    answers = []
    for model in (CHAT, f"deploy_id:{deploy_id}"):
        resp = _infer(server, model, body)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("application/json")
        out = resp.json()
        assert set(out) == {
            "request_id",
            "results",
            "num_tokens",
            "num_input_tokens",
            "inference_status",
        }
        assert out["request_id"] == resp.headers["x-request-id"]
        [result] = out["results"]
        assert isinstance(result["generated_text"], str) and result["generated_text"].strip()
        assert 1 <= out["num_tokens"] <= 6  # max_new_tokens reached the engine (default 512)
        assert out["num_input_tokens"] >= 4
        status = out["inference_status"]
        assert status["status"] == "succeeded"
        assert status["tokens_generated"] == out["num_tokens"]
        assert status["tokens_input"] == out["num_input_tokens"]
        assert status["runtime_ms"] >= 0 and status["cost"] == 0
        answers.append(result["generated_text"])
    assert answers[0] == answers[1]  # temperature 0: the same deployment by either name

    one = _infer(server, CHAT, {**body, "max_new_tokens": 1}).json()
    assert one["num_tokens"] == 1


def test_streamed_text_generation_is_deepinfras_token_events(
    server: ServerProcess, deployments: dict[str, dict[str, Any]]
):
    body = {"input": PROMPT, "max_new_tokens": 8, "temperature": 0, "stream": True}
    with httpx.stream(
        "POST",
        f"{server.base_url}/deepinfra/v1/inference/{CHAT}",
        headers=_headers(server),
        json=body,
        timeout=120,
    ) as resp:
        assert resp.status_code == 200, resp.read()
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines), lines
    events = [json.loads(line[len("data: ") :]) for line in lines]
    *tokens, last = events
    assert tokens, events
    for event in tokens:
        assert event["generated_text"] is None and event["details"] is None
        assert event["token"]["special"] is False and event["token"]["text"]
    text = "".join(event["token"]["text"] for event in tokens)
    assert last["generated_text"] == text and text.strip()
    assert last["token"]["special"] is True
    assert last["details"]["finish_reason"] in ("length", "stop")
    assert 1 <= last["details"]["generated_tokens"] <= 8
    assert last["inference_status"]["status"] == "succeeded"
    whole = _infer(server, CHAT, {**body, "stream": False}).json()
    assert whole["results"][0]["generated_text"] == text  # the same text, streamed or not


def test_embeddings_in_deepinfras_shape(
    server: ServerProcess, deployments: dict[str, dict[str, Any]]
):
    texts = ["a cat sat on the mat", "stock markets fell today"]
    resp = _infer(server, EMBED, {"inputs": texts})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert set(out) == {"request_id", "embeddings", "input_tokens", "inference_status"}
    vectors = out["embeddings"]
    assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 16
    assert vectors[0] != vectors[1]
    assert out["input_tokens"] >= 4
    assert out["inference_status"]["status"] == "succeeded"
    unit = _infer(server, EMBED, {"inputs": texts, "normalize": True}).json()["embeddings"]
    assert all(math.isclose(math.hypot(*v), 1.0, rel_tol=1e-6) for v in unit)


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"input": PROMPT, "temperature": "hot"}, ["body", "temperature"]),
        ({"input": PROMPT, "max_new_tokens": 0}, ["body", "max_new_tokens"]),
        ({"input": PROMPT, "max_tokens": 5}, ["body", "max_tokens"]),  # OpenAI's name, not ours
        ({"prompt": PROMPT}, ["body", "input"]),
        ([PROMPT], ["body"]),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    server: ServerProcess, deployments: dict[str, dict[str, Any]], body: Any, loc: list[str]
):
    resp = _infer(server, CHAT, body)
    assert resp.status_code == 422, resp.text
    [detail] = resp.json()["detail"]
    assert detail["loc"] == loc
    assert detail["msg"].startswith(f"{'.'.join(loc[1:]) or 'body'}: ")


def test_errors_are_in_deepinfras_envelope(
    server: ServerProcess, deployments: dict[str, dict[str, Any]]
):
    unknown = _infer(server, "nobody/no-such-model", {"input": PROMPT})
    assert unknown.status_code == 404
    assert "nobody/no-such-model" in unknown.json()["detail"]

    no_token = _infer(server, CHAT, {"input": PROMPT}, headers={})
    assert no_token.status_code == 401
    assert isinstance(no_token.json()["detail"], str)

    wrong_method = httpx.get(
        f"{server.base_url}/deepinfra/v1/inference/{CHAT}", headers=_headers(server), timeout=30
    )
    assert wrong_method.status_code == 405
    assert "POST" in wrong_method.json()["detail"]


def test_the_openai_route_serves_the_same_deployment(
    server: ServerProcess, deployments: dict[str, dict[str, Any]]
):
    deployed = deployments[CHAT]["deploy"]
    client = OpenAI(base_url=f"{server.base_url}/deepinfra/v1/openai", api_key=server.admin_token)
    for model in (deployed["model_name"], f"deploy_id:{deployed['deploy_id']}"):
        reply = client.completions.create(model=model, prompt=PROMPT, max_tokens=6, temperature=0)
        assert reply.choices[0].text.strip(), model
        assert reply.usage is not None and 1 <= reply.usage.completion_tokens <= 6
    embedded = client.embeddings.create(model=EMBED, input=["a cat sat on the mat"])
    assert len(embedded.data[0].embedding) > 16


def test_stopped_only_once_no_replica_answers(
    server: ServerProcess, deployments: dict[str, dict[str, Any]]
):
    deploy_id = deployments[CHAT]["deploy"]["deploy_id"]
    with server.api() as api:
        endpoints = api.get("/api/v1/endpoints").json()["items"]
        [name] = [
            e["name"]
            for e in endpoints
            if e["spec"]["extensions"]["deepinfra"]["deploy_id"] == deploy_id
        ]
        replicas = api.get(f"/api/v1/endpoints/{name}/replicas").json()["items"]
    pids = [r["handle"]["pid"] for r in replicas if r["state"] == "ready"]
    assert pids, replicas

    said = [_deploy_api(server, "POST", f"/deploy/{deploy_id}/stop")["status"]]

    def stopped() -> bool:
        said.append(_status(server, deploy_id)["status"])
        return said[-1] == "stopped"

    assert wait_until(stopped, 60, interval=0.1), said
    assert set(said) <= {"running", "stopped"}, said  # DeepInfra has no "stopping"
    # Once it says stopped (for good: nothing restarts a stopped deployment), no replica
    # process is left and nothing answers.
    assert not [pid for pid in pids if pid_alive(pid)]
    resp = _infer(server, CHAT, {"input": PROMPT, "max_new_tokens": 2})
    assert resp.status_code in (404, 503), resp.text
    assert isinstance(resp.json()["detail"], str)
    assert _status(server, deploy_id)["instances"] == {"running": 0, "pending": 0}


def test_the_server_log_shows_no_traceback_and_no_500(server: ServerProcess):
    problems = server_log_problems(server.log_path.read_text(errors="replace"))
    assert not problems, problems
