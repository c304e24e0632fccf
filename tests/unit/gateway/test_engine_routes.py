"""Operations an engine serves elsewhere or in another shape: requests and answers translated
(llama.cpp's tokenizer routes, the Responses API over chat completions), bad input named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modelport.domain.specs import Framework
from modelport.gateway.dialect_paths import Operation
from modelport.gateway.downstream import Headers
from modelport.gateway.engine_routes import BadAnswer, Translation, translation
from modelport.gateway.incoming import BadRequest
from modelport.gateway.reshaping_client import ReshapingClient
from modelport.gateway.upstream import UpstreamConnection


def llamacpp(operation: Operation) -> Translation:
    found = translation(Framework.LLAMACPP, operation)
    assert found is not None
    return found


def test_engines_in_vllms_layout_get_every_operation_as_sent() -> None:
    for framework in (Framework.VLLM, Framework.SGLANG, Framework.CUSTOM):
        for operation in Operation:
            assert translation(framework, operation) is None
    for operation in (Operation.CHAT, Operation.COMPLETIONS, Operation.EMBEDDINGS):
        assert translation(Framework.LLAMACPP, operation) is None


def test_llamacpp_tokenizer_routes() -> None:
    tokenize = llamacpp(Operation.TOKENIZE)
    assert tokenize.path == "/extras/tokenize"
    assert tokenize.request({"model": "m", "prompt": "Hi there"}) == {
        "model": "m",
        "input": "Hi there",
    }
    assert tokenize.answer({}, {"tokens": [1, 2, 3]}) == {"tokens": [1, 2, 3], "count": 3}
    detokenize = llamacpp(Operation.DETOKENIZE)
    assert detokenize.path == "/extras/detokenize"
    assert detokenize.request({"model": "m", "tokens": [4, 5]}) == {"model": "m", "tokens": [4, 5]}
    assert detokenize.answer({}, {"text": "Hi"}) == {"prompt": "Hi"}


@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [
        (Operation.TOKENIZE, {"model": "m"}, "prompt"),
        (Operation.TOKENIZE, {"model": "m", "prompt": ["a", "b"]}, "prompt"),
        (Operation.TOKENIZE, {"model": "m", "messages": [{"role": "user"}]}, "messages"),
        (Operation.DETOKENIZE, {"model": "m"}, "tokens"),
        (Operation.DETOKENIZE, {"model": "m", "tokens": [1, -2]}, "tokens"),
        (Operation.DETOKENIZE, {"model": "m", "tokens": [1, True]}, "tokens"),
        (Operation.DETOKENIZE, {"model": "m", "tokens": "1 2"}, "tokens"),
        (Operation.RESPONSES, {"model": "m"}, "input"),
        (Operation.RESPONSES, {"model": "m", "input": []}, "input"),
        (Operation.RESPONSES, {"model": "m", "input": "x", "stream": True}, "stream"),
        (Operation.RESPONSES, {"model": "m", "input": "x", "tools": [{"type": "x"}]}, "tools"),
        (Operation.RESPONSES, {"model": "m", "input": "x", "background": True}, "background"),
        (Operation.RESPONSES, {"model": "m", "input": "x", "instructions": 3}, "instructions"),
        (Operation.RESPONSES, {"model": "m", "input": [{"role": "bot"}]}, "input[0].role"),
        (Operation.RESPONSES, {"model": "m", "input": [{"type": "function_call"}]}, "input[0]"),
        (
            Operation.RESPONSES,
            {"model": "m", "input": [{"role": "user", "content": [{"type": "input_image"}]}]},
            "input[0].content[0]",
        ),
    ],
)  # fmt: skip
def test_bad_input_is_named(operation: Operation, body: dict[str, Any], field: str) -> None:
    with pytest.raises(BadRequest) as raised:
        llamacpp(operation).request(body)
    assert raised.value.message.startswith(f"{field}: "), raised.value.message


def part(text: str, kind: str = "input_text") -> dict[str, str]:
    return {"type": kind, "text": text}


def test_a_response_is_asked_as_a_chat_completion() -> None:
    responses = llamacpp(Operation.RESPONSES)
    assert responses.path == "/v1/chat/completions"
    request = {
        "model": "smol",
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": "Hi"},
            {"type": "message", "role": "assistant", "content": [part("Hello", "output_text")]},
            {"role": "developer", "content": [part("Answer in French.")]},
            {"role": "user", "content": [part("Name "), part("a city")]},
        ],
        "max_output_tokens": 8,
        "temperature": 0,
        "stream": False,
        "store": True,
        "metadata": {"k": "v"},
    }  # fmt: skip
    assert responses.request(request) == {
        "model": "smol",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Name a city"},
        ],
        "max_tokens": 8,
        "temperature": 0,
    }
    assert responses.request({"model": "smol", "input": "Hi"})["messages"] == [
        {"role": "user", "content": "Hi"}
    ]


def chat_answer(finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "smol",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Paris"},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
    }


def test_the_chat_answer_becomes_a_response() -> None:
    answer = llamacpp(Operation.RESPONSES).answer(
        {"input": "x", "metadata": {"k": "v"}}, chat_answer()
    )
    assert answer == {
        "id": "resp_abc",
        "object": "response",
        "created_at": 1700000000,
        "model": "smol",
        "status": "completed",
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "metadata": {"k": "v"},
        "output": [
            {
                "type": "message",
                "id": "msg_abc",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Paris", "annotations": []}],
            }
        ],
        "usage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6},
    }  # fmt: skip
    cut = llamacpp(Operation.RESPONSES).answer({"max_output_tokens": 1}, chat_answer("length"))
    assert cut["status"] == "incomplete"
    assert cut["incomplete_details"] == {"reason": "max_output_tokens"}


@pytest.mark.parametrize(
    ("operation", "answer"),
    [
        (Operation.RESPONSES, {"id": "x", "choices": []}),
        (Operation.RESPONSES, {"choices": [{"message": {"content": "x"}}]}),
        (Operation.TOKENIZE, {"count": 3}),
        (Operation.DETOKENIZE, {"text": 3}),
    ],
)
def test_an_answer_of_another_shape_is_bad(operation: Operation, answer: dict[str, Any]) -> None:
    with pytest.raises(BadAnswer):
        llamacpp(operation).answer({}, answer)


class Recorder:
    """The client as the reshaping wrapper sees it: what was sent, whole."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, Headers, bytes]] = []

    async def read_body(self, declared: int | None, limit: int) -> bytes:
        return b""

    def watch(self, upstream: UpstreamConnection | None) -> None:
        pass

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.answers.append((status, headers, body))

    async def start(self, status: int, headers: Headers) -> None:
        raise AssertionError("a reshaped answer is sent whole")

    async def send(self, chunk: bytes) -> None:
        raise AssertionError("a reshaped answer is sent whole")

    async def end(self) -> None:
        raise AssertionError("a reshaped answer is sent whole")


def count(answer: dict[str, Any]) -> dict[str, Any]:
    if "tokens" not in answer:
        raise BadAnswer("no tokens")
    return {"count": len(answer["tokens"])}


def reshaping(recorder: Recorder) -> ReshapingClient:
    client = ReshapingClient(recorder, Operation.TOKENIZE)
    client.arm(count)
    return client


async def test_the_client_gets_the_reshaped_answer_with_its_new_length() -> None:
    recorder = Recorder()
    client = reshaping(recorder)
    upstream_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", b"17"),
        (b"x-a", b"1"),
    ]
    await client.respond(200, upstream_headers, b'{"tokens": [1, 2]}')
    # Streamed in pieces: kept until the end, then reshaped the same way.
    await client.start(200, [(b"content-type", b"application/json"), (b"x-a", b"2")])
    await client.send(b'{"tokens": ')
    await client.send(b"[7]}")
    await client.end()
    for (status, headers, body), (expected, x_a) in zip(
        recorder.answers, [({"count": 2}, b"1"), ({"count": 1}, b"2")], strict=True
    ):
        assert status == 200 and json.loads(body) == expected
        assert sorted(headers) == sorted(
            [(b"x-a", x_a), (b"content-type", b"application/json"),
             (b"content-length", str(len(body)).encode())]
        )  # fmt: skip


async def test_errors_pass_through_and_a_bad_answer_is_a_502() -> None:
    recorder = Recorder()
    client = reshaping(recorder)
    await client.respond(422, [(b"content-length", b"2")], b"{}")
    await client.respond(200, [], b"not json")
    await client.respond(200, [], b'{"other": 1}')
    await client.respond(200, [], b"[1]")
    assert recorder.answers[0] == (422, [(b"content-length", b"2")], b"{}")
    for status, _headers, body in recorder.answers[1:]:
        assert status == 502
        error = json.loads(body)["error"]
        assert error["code"] == "upstream_bad_answer"
        assert "/tokenize" in error["message"]


class Streamed(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.streamed: list[object] = []

    async def start(self, status: int, headers: Headers) -> None:
        self.streamed.append(status)

    async def send(self, chunk: bytes) -> None:
        self.streamed.append(chunk)

    async def end(self) -> None:
        self.streamed.append("end")


async def test_unarmed_it_passes_everything_through() -> None:
    """An engine that serves the operation as asked (vLLM): its answer streams unchanged."""
    recorder = Streamed()
    client = ReshapingClient(recorder, Operation.RESPONSES)
    assert not client.armed
    await client.respond(200, [(b"content-length", b"2")], b"[]")
    await client.start(200, [])
    await client.send(b"data: 1\n\n")
    await client.end()
    assert recorder.answers == [(200, [(b"content-length", b"2")], b"[]")]
    assert recorder.streamed == [200, b"data: 1\n\n", "end"]


def test_a_reshaped_answer_is_asked_for_uncompressed() -> None:
    forward = [("accept-encoding", "gzip"), ("content-type", "application/json")]
    assert ReshapingClient.identity_encoding(forward) == [
        ("content-type", "application/json"),
        ("Accept-Encoding", "identity"),
    ]
