"""DeepInfra's native inference API translated to and from the OpenAI calls replicas serve."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from modelport.gateway.deepinfra_native import (
    BadAnswer,
    BadInput,
    NativeRequest,
    Task,
    TokenStream,
    error_detail,
    field_error,
    parse_body,
    to_deepinfra,
    to_openai,
)


def _refused(payload: dict[str, Any]) -> BadInput:
    with pytest.raises(BadInput) as caught:
        to_openai(payload)
    return caught.value


# --- requests --------------------------------------------------------------------------------
def test_text_generation_becomes_a_completion_with_deepinfra_defaults():
    request = to_openai({"input": "Hello"})
    assert request.task is Task.TEXT_GENERATION
    assert request.task.value == "/v1/completions"
    assert not request.stream
    assert request.openai == {
        "prompt": "Hello",
        "max_tokens": 512,
        "temperature": 0.7,
        "top_p": 0.9,
        "stream": False,
    }


def test_every_documented_text_parameter_is_mapped():
    request = to_openai(
        {
            "input": "Hi",
            "max_new_tokens": 20,
            "temperature": 0.2,
            "top_p": 0.5,
            "min_p": 0.1,
            "top_k": 40,
            "repetition_penalty": 1.3,
            "presence_penalty": 0.5,
            "frequency_penalty": -0.5,
            "stop": ["\n", "###"],
            "num_responses": 2,
            "response_format": {"type": "json_object"},
            "seed": 7,
            "stream": True,
            "webhook": None,
        }
    )
    assert request.stream
    assert request.openai == {
        "prompt": "Hi",
        "max_tokens": 20,
        "temperature": 0.2,
        "top_p": 0.5,
        "min_p": 0.1,
        "top_k": 40,
        "repetition_penalty": 1.3,
        "repeat_penalty": 1.3,  # llama.cpp's name for it
        "presence_penalty": 0.5,
        "frequency_penalty": -0.5,
        "stop": ["\n", "###"],
        "n": 2,
        "response_format": {"type": "json_object"},
        "seed": 7,
        "stream": True,
    }


def test_top_k_zero_means_no_top_k_and_is_left_out():
    assert "top_k" not in to_openai({"input": "x", "top_k": 0}).openai


def test_null_means_deepinfras_default():
    assert to_openai({"input": "x", "max_new_tokens": None}).openai["max_tokens"] == 512


def test_embeddings_become_an_embeddings_call():
    request = to_openai({"inputs": ["a", "b"], "normalize": True})
    assert request.task is Task.EMBEDDINGS
    assert request.task.value == "/v1/embeddings"
    assert request.normalize
    assert request.openai == {"input": ["a", "b"], "encoding_format": "float"}


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ({}, "input", "required"),
        ({"input": 3}, "input", "string"),
        ({"input": "x", "inputs": ["y"]}, "inputs", "not both"),
        ({"inputs": []}, "inputs", "non-empty list"),
        ({"inputs": ["a", 1]}, "inputs", "list of strings"),
        ({"input": "x", "max_new_tokens": 0}, "max_new_tokens", "1 <= x"),
        ({"input": "x", "max_new_tokens": 2.5}, "max_new_tokens", "integer"),
        ({"input": "x", "max_new_tokens": True}, "max_new_tokens", "integer"),
        ({"input": "x", "temperature": "hot"}, "temperature", "number"),
        ({"input": "x", "temperature": 101}, "temperature", "<= 100"),
        ({"input": "x", "top_p": 0}, "top_p", "0 < x <= 1"),
        ({"input": "x", "top_p": 1.5}, "top_p", "<= 1"),
        ({"input": "x", "top_k": -1}, "top_k", "0 <= x"),
        ({"input": "x", "repetition_penalty": 0}, "repetition_penalty", "0.01 <= x"),
        ({"input": "x", "stop": [1]}, "stop", "list of strings"),
        ({"input": "x", "stop": ["s"] * 17}, "stop", "at most 16"),
        ({"input": "x", "num_responses": 5}, "num_responses", "<= 4"),
        ({"input": "x", "response_format": {"type": "xml"}}, "response_format", "json_object"),
        ({"input": "x", "stream": "yes"}, "stream", "true or false"),
        ({"input": "x", "webhook": "https://example.com/hook"}, "webhook", "not supported"),
        ({"input": "x", "temprature": 0.3}, "temprature", "unknown field"),
        ({"inputs": ["a"], "normalize": 1}, "normalize", "true or false"),
        ({"inputs": ["a"], "image": "data:image/png;base64,AA"}, "image", "not supported"),
        ({"inputs": ["a"], "max_new_tokens": 3}, "max_new_tokens", "unknown field"),
    ],
)
def test_bad_input_names_the_field(payload: dict[str, Any], field: str, words: str):
    error = _refused(payload)
    assert error.field == field
    assert words in error.message
    body = field_error(error)
    assert body["detail"][0]["loc"] == ["body", field]
    assert body["detail"][0]["msg"].startswith(f"{field}: ")


def test_the_refused_value_is_never_echoed():
    secret = "sk-never-echo-this"
    error = _refused({"input": "x", "webhook": secret})
    assert secret not in json.dumps(field_error(error))


@pytest.mark.parametrize(
    ("body", "words"),
    [(b"not json", "JSON object"), (b"[1, 2]", "JSON object"), (b"[" * 80 + b"]" * 80, "deeper")],
)
def test_a_body_that_is_no_json_object_is_refused(body: bytes, words: str):
    with pytest.raises(BadInput) as caught:
        parse_body(body, max_depth=64)
    assert caught.value.field == "body"
    assert words in caught.value.message
    assert field_error(caught.value)["detail"][0]["loc"] == ["body"]


# --- answers ---------------------------------------------------------------------------------
COMPLETION = {
    "id": "cmpl-1",
    "object": "text_completion",
    "choices": [
        {"index": 1, "text": " second", "finish_reason": "length"},
        {"index": 0, "text": " first", "finish_reason": "stop"},
    ],
    "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
}


def _text_request(stream: bool = False) -> NativeRequest:
    return to_openai({"input": "x", "stream": stream})


def test_a_completion_becomes_deepinfras_text_generation_answer():
    answer = to_deepinfra(_text_request(), json.dumps(COMPLETION).encode(), "req-1", 42)
    assert answer == {
        "request_id": "req-1",
        "results": [{"generated_text": " first"}, {"generated_text": " second"}],
        "num_tokens": 7,
        "num_input_tokens": 5,
        "inference_status": {
            "status": "succeeded",
            "runtime_ms": 42,
            "cost": 0.0,
            "tokens_generated": 7,
            "tokens_input": 5,
        },
    }


def test_embeddings_come_back_in_input_order_and_normalized_when_asked():
    openai = {
        "data": [
            {"index": 1, "embedding": [0.0, 2.0]},
            {"index": 0, "embedding": [3.0, 4.0]},
        ],
        "usage": {"prompt_tokens": 4, "total_tokens": 4},
    }
    raw = json.dumps(openai).encode()
    plain = to_deepinfra(to_openai({"inputs": ["a", "b"]}), raw, "r", 3)
    assert plain["embeddings"] == [[3.0, 4.0], [0.0, 2.0]]
    assert plain["input_tokens"] == 4
    assert plain["inference_status"]["tokens_input"] == 4
    unit = to_deepinfra(to_openai({"inputs": ["a", "b"], "normalize": True}), raw, "r", 3)
    assert unit["embeddings"] == [[0.6, 0.8], [0.0, 1.0]]
    assert all(math.isclose(math.hypot(*v), 1.0) for v in unit["embeddings"])


@pytest.mark.parametrize("answer", [b"<html>", b"[]", b'{"choices": "no"}', b'{"object": "x"}'])
def test_an_answer_in_another_shape_is_a_bad_answer(answer: bytes):
    with pytest.raises(BadAnswer):
        to_deepinfra(_text_request(), answer, "r", 1)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b'{"error": {"message": "model overloaded", "type": "x"}}', "model overloaded"),
        (b'{"error": "plain"}', "plain"),
        (b'{"message": "llama says no"}', "llama says no"),
        (b"Internal Server Error", "Internal Server Error"),
        (b"", "the endpoint failed without saying why"),
    ],
)
def test_errors_take_deepinfras_detail_envelope(body: bytes, detail: str):
    assert error_detail(body) == {"detail": detail}


def test_an_error_already_in_deepinfras_envelope_is_kept():
    assert error_detail(b'{"detail": [{"loc": ["body"], "msg": "m", "type": "t"}]}') is None


# --- streams ---------------------------------------------------------------------------------
def _chunk(text: str, finish: str | None = None) -> bytes:
    payload = {
        "object": "text_completion",
        "choices": [{"index": 0, "text": text, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\r\n\r\n"


def _events(raw: bytes) -> list[dict[str, Any]]:
    lines = [line for line in raw.split(b"\n\n") if line]
    assert all(line.startswith(b"data: ") for line in lines), raw
    return [json.loads(line[len(b"data: ") :]) for line in lines]


def test_a_stream_becomes_token_events_then_the_whole_text():
    upstream = _chunk("Hel") + _chunk("lo") + _chunk("", "length") + b"data: [DONE]\r\n\r\n"
    stream = TokenStream("req-9")
    # Split anywhere, even inside an event: nothing is lost or duplicated.
    sent = b"".join(stream.feed(upstream[i : i + 7]) for i in range(0, len(upstream), 7))
    sent += stream.finish(runtime_ms=12)
    events = _events(sent)
    assert [e["token"]["text"] for e in events] == ["Hel", "lo", ""]
    assert [e["token"]["special"] for e in events] == [False, False, True]
    assert all(e["generated_text"] is None and e["details"] is None for e in events[:-1])
    last = events[-1]
    assert last["generated_text"] == "Hello"
    assert last["details"] == {
        "finish_reason": "length",
        "generated_tokens": 2,
        "input_length": None,
    }
    assert last["request_id"] == "req-9"
    assert last["inference_status"]["runtime_ms"] == 12
    assert stream.finish(runtime_ms=13) == b""  # the closing event goes out once


def test_a_stream_with_usage_reports_the_counted_tokens():
    usage = {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 9}}
    stream = TokenStream("r")
    sent = stream.feed(_chunk("a") + b"data: " + json.dumps(usage).encode() + b"\n\n")
    last = _events(sent + stream.finish(1))[-1]
    assert last["num_output_tokens"] == 9
    assert last["num_input_tokens"] == 3
    assert last["inference_status"]["tokens_input"] == 3


def test_an_error_in_the_stream_ends_it_in_deepinfras_error_event():
    error = {"error": {"message": "out of memory", "type": "server_error"}}
    stream = TokenStream("r")
    sent = stream.feed(_chunk("a") + b"data: " + json.dumps(error).encode() + b"\n\n")
    sent += stream.feed(_chunk("b")) + stream.finish(1)
    events = _events(sent)
    assert events[-1] == {"error_type": "inference_error", "error_message": "out of memory"}
    assert [e["token"]["text"] for e in events[:-1]] == ["a"]
