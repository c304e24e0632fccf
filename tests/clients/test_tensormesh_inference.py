"""Tensormesh's inference client (`tensormesh` SDK, in .venv-clients) against a real server.

SmolLM2 is deployed as a Tensormesh model on llama.cpp (CPU). The client is configured only
by environment, as Tensormesh documents it, with the model's `endpoint` as its base (the
on-demand surface with the caller's user id, and the serverless surface): every call it has -
models, chat (whole and streamed), completions, responses, tokenize, detokenize, health,
version - goes to a URL under that base and is answered in the shape the client parses. On
llama.cpp, tokenize/detokenize go to its /extras routes and responses through chat
completions. Bad input is a 4xx naming the field in the OpenAI error shape. No call meets a 5xx
and the server log shows no traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI

from modelport import __version__
from tests.support.server import ServerProcess, running_server, wait_until
from tests.support.vendor_clients import Answer, ClientDriver, server_log_problems

pytestmark = [pytest.mark.e2e, pytest.mark.engine, pytest.mark.timeout(600)]

MODEL = "smol-infer"
API_KEY = "tm-infer-key-0123456789abcdef"
SURFACES = ("on_demand", "serverless")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with running_server(tmp_path_factory.mktemp("mp-home")) as srv:
        yield srv


def _tensormesh(server: ServerProcess, method: str, path: str, **kwargs: Any) -> Any:
    resp = httpx.request(
        method,
        f"{server.base_url}/tensormesh{path}",
        headers={"Authorization": f"Bearer {server.admin_token}"},
        timeout=30,
        **kwargs,
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def user_id(server: ServerProcess) -> str:
    return str(_tensormesh(server, "GET", "/auth/profile")["user"]["id"])


@pytest.fixture(scope="module")
def model(server: ServerProcess, user_id: str, smollm2_path: Path) -> dict[str, Any]:
    request = {
        "modelName": MODEL,
        "userId": user_id,
        "modelPath": str(smollm2_path),
        "gpuCount": 0,
        "apiKey": API_KEY,
    }
    deployed: dict[str, Any] = _tensormesh(server, "POST", "/v1/models", json=request)["model"]

    def ready() -> bool:
        with server.api() as api:
            shown = api.get(f"/api/v1/endpoints/{deployed['deploymentId']}").json()
        return bool(shown["phase"] == "ready")

    assert wait_until(ready, 180), deployed
    return deployed


@pytest.fixture(scope="module")
def client(
    model: dict[str, Any], user_id: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClientDriver]:
    """The inference client as a Tensormesh user configures it: base URL, key, user id."""
    env = {
        "TENSORMESH_INFERENCE_API_KEY": API_KEY,
        "TENSORMESH_ENABLE_ON_DEMAND": "1",
        "TENSORMESH_ON_DEMAND_BASE_URL": model["endpoint"],
        "TENSORMESH_ON_DEMAND_USER_ID": user_id,
        "TENSORMESH_SERVERLESS_BASE_URL": model["endpoint"],
    }
    log = tmp_path_factory.mktemp("driver") / "tensormesh-inference-driver.log"
    driver = ClientDriver("tensormesh_inference_driver.py", env, log)
    yield driver
    driver.close()


def under_base(answer: Answer, model: dict[str, Any], path: str) -> None:
    """Every request of the call went to `path` under the model's endpoint."""
    assert [x["url"] for x in answer.http] == [model["endpoint"] + path], answer.http


def refused(answer: Answer, status: int) -> str:
    assert not answer.ok and answer.statuses == [status], answer
    assert answer.error is not None
    return answer.error["message"]


def test_the_endpoint_is_the_base_the_client_takes(server: ServerProcess, model: dict[str, Any]):
    assert model["endpoint"] == f"{server.base_url}/tensormesh/openai"


@pytest.mark.parametrize("surface", SURFACES)
def test_models_chat_and_completions(client: ClientDriver, model: dict[str, Any], surface: str):
    listed = client.call("models", surface=surface)
    under_base(listed, model, "/v1/models")
    assert [m["id"] for m in listed.result["data"]] == [MODEL]  # the key sees its model only

    chat = client.call("chat", model=MODEL, content="Say hello", max_tokens=8, surface=surface)
    under_base(chat, model, "/v1/chat/completions")
    assert chat.result["choices"][0]["message"]["content"]
    assert chat.result["usage"]["completion_tokens"] <= 8

    streamed = client.call(
        "chat_stream", model=MODEL, content="Count to five", max_tokens=8, surface=surface
    )
    under_base(streamed, model, "/v1/chat/completions")
    assert streamed.result["chunks"] > 1 and streamed.result["text"]

    text = client.call("completion", model=MODEL, prompt="Once upon", max_tokens=4, surface=surface)
    under_base(text, model, "/v1/completions")
    assert text.result["choices"][0]["text"]


def test_responses_are_answered_through_chat_completions(
    client: ClientDriver, model: dict[str, Any]
):
    answer = client.call("response", model=MODEL, input="Say hello", max_output_tokens=8)
    under_base(answer, model, "/v1/responses")
    response = answer.result
    assert response["object"] == "response" and response["id"].startswith("resp_")
    assert response["status"] in ("completed", "incomplete")
    [message] = response["output"]
    assert (message["type"], message["role"]) == ("message", "assistant")
    assert message["content"][0]["type"] == "output_text" and message["content"][0]["text"]
    assert 0 < response["extra"]["usage"]["output_tokens"] <= 8

    conversation = [
        {"role": "developer", "content": "Answer with one word."},
        {"role": "user", "content": [{"type": "input_text", "text": "Name a colour."}]},
    ]
    answer = client.call("response", model=MODEL, input=conversation, max_output_tokens=4)
    assert answer.result["output"][0]["content"][0]["text"]


def test_streamed_responses_are_refused_naming_the_field(client: ClientDriver):
    message = refused(client.attempt("response_stream", model=MODEL, input="Say hello"), 400)
    assert "stream" in message and "llamacpp" in message


def test_tokenize_and_detokenize_round_trip(client: ClientDriver, model: dict[str, Any]):
    tokens = client.call("tokenize", model=MODEL, prompt="Hello world")
    under_base(tokens, model, "/tokenize")
    ids = tokens.result["tokens"]
    assert ids and tokens.result["count"] == len(ids)
    text = client.call("detokenize", model=MODEL, tokens=ids)
    under_base(text, model, "/detokenize")
    assert text.result["prompt"].strip().endswith("Hello world")


def test_bad_input_and_unknown_models_are_4xx_naming_them(client: ClientDriver):
    assert "tokens" in refused(client.attempt("detokenize", model=MODEL, tokens=[1, -5]), 400)
    by_messages = client.attempt(
        "tokenize", model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    assert "messages" in refused(by_messages, 400)  # llama.cpp's tokenizer takes text only
    assert "no-such-model" in refused(
        client.attempt("chat", model="no-such-model", content="hi", max_tokens=4), 404
    )
    assert "no-such-model" in refused(
        client.attempt("tokenize", model="no-such-model", prompt="hi"), 404
    )


@pytest.mark.parametrize("surface", SURFACES)
def test_health_and_version_come_from_the_gateway(
    client: ClientDriver, model: dict[str, Any], surface: str
):
    health = client.call("health", surface=surface)
    under_base(health, model, "/health")
    assert health.result["status"] == "ok"
    version = client.call("version", surface=surface)
    under_base(version, model, "/version")
    assert version.result["version"] == __version__


def test_the_openai_sdk_at_the_base_plus_v1(model: dict[str, Any]):
    sdk = OpenAI(base_url=model["endpoint"] + "/v1", api_key=API_KEY, max_retries=0)
    response = sdk.responses.create(model=MODEL, input="Say hello", max_output_tokens=8)
    assert response.output_text
    assert [m.id for m in sdk.models.list().data] == [MODEL]


def test_without_a_token_every_route_is_401(server: ServerProcess, model: dict[str, Any]):
    for method, path in [
        ("GET", "/health"),
        ("GET", "/version"),
        ("POST", "/tokenize"),
        ("POST", "/v1/responses"),
    ]:
        resp = httpx.request(method, model["endpoint"] + path, json={}, timeout=30)
        assert resp.status_code == 401, (path, resp.text)
        assert resp.json()["error"]["type"] == "authentication_error"


def test_the_server_log_shows_no_traceback(server: ServerProcess, model: dict[str, Any]):
    assert server_log_problems(server.log_path.read_text()) == []
