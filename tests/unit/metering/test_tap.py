"""Token counts read from answers as llama-cpp-python and OpenAI-style engines send them."""

from __future__ import annotations

import json

from modelport.gateway.metering_tap import UsageTap, ask_for_usage

CHAT = "/v1/chat/completions"


def _event(payload: object) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _delta(delta: dict[str, str], finish: str | None = None) -> bytes:
    return _event({"object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})  # fmt: skip


DONE = b"data: [DONE]\n\n"
# What llama-cpp-python 0.3 streams for max_tokens=5 (with or without include_usage): no usage.
LLAMA_CPP_PYTHON = [
    _delta({"role": "assistant"}),
    *(_delta({"content": piece}) for piece in ("H", "ai", "!", " I", "'m")),
    _delta({}, "length"),
    DONE,
]
USAGE = {"prompt_tokens": 31, "completion_tokens": 5, "total_tokens": 36}


def _run(tap: UsageTap, chunks: list[bytes]) -> bytes:
    tap.stream(sse=True)
    sent = b"".join(tap.chunk(chunk) for chunk in chunks)
    tap.end()
    return sent


def test_whole_answer_reads_the_engines_usage() -> None:
    tap = UsageTap()
    tap.body(json.dumps({"choices": [{"message": {"content": "usage"}}], "usage": USAGE}).encode())
    assert (tap.prompt, tap.completion, tap.found, tap.estimated) == (31, 5, True, False)


def test_answer_without_usage_counts_nothing() -> None:
    tap = UsageTap()
    tap.body(b'{"data": [{"embedding": [0.1]}]}')
    assert (tap.prompt, tap.completion, tap.found) == (0, 0, False)


def test_stream_without_usage_counts_its_text_events_as_estimated() -> None:
    tap = UsageTap(strip=True)
    sent = _run(tap, LLAMA_CPP_PYTHON)
    assert sent == b"".join(LLAMA_CPP_PYTHON)  # nothing changed for the client
    assert (tap.prompt, tap.completion, tap.found, tap.estimated) == (0, 5, False, True)


def test_completion_stream_without_role_event() -> None:
    texts = [_event({"choices": [{"text": t, "finish_reason": None}]}) for t in ("-", "be", "a")]
    chunks = [*texts, _event({"choices": [{"text": "", "finish_reason": "length"}]}), DONE]
    tap = UsageTap()
    _run(tap, chunks)
    assert (tap.completion, tap.estimated) == (3, True)


def test_usage_event_the_gateway_asked_for_is_read_and_removed() -> None:
    usage_only = _event({"object": "chat.completion.chunk", "choices": [], "usage": USAGE})
    engine_sent = [*LLAMA_CPP_PYTHON[:-1], usage_only + DONE]  # usage and [DONE] in one chunk
    tap = UsageTap(strip=True)
    sent = _run(tap, engine_sent)
    assert sent == b"".join(LLAMA_CPP_PYTHON)
    assert (tap.prompt, tap.completion, tap.found, tap.estimated) == (31, 5, True, False)


def test_usage_event_the_client_asked_for_is_kept() -> None:
    usage_only = _event({"choices": [], "usage": USAGE})
    engine_sent = [*LLAMA_CPP_PYTHON[:-1], usage_only, DONE]
    tap = UsageTap(strip=False)
    assert _run(tap, engine_sent) == b"".join(engine_sent)
    assert (tap.prompt, tap.found) == (31, True)


def test_gateway_asks_for_usage_only_on_streamed_completions() -> None:
    streamed = json.dumps({"model": "m", "stream": True, "messages": []}).encode()
    body, added = ask_for_usage(streamed, CHAT)
    assert added and json.loads(body)["stream_options"] == {"include_usage": True}
    assert ask_for_usage(streamed, "/v1/embeddings") == (streamed, False)
    plain = json.dumps({"model": "m", "stream": False}).encode()
    assert ask_for_usage(plain, CHAT) == (plain, False)
    asked = json.dumps({"stream": True, "stream_options": {"include_usage": True}}).encode()
    assert ask_for_usage(asked, CHAT) == (asked, False)
    other = json.dumps({"stream": True, "stream_options": {"continuous": 1}}).encode()
    body, added = ask_for_usage(other, "/v1/completions?x=1")
    assert added
    assert json.loads(body)["stream_options"] == {"continuous": 1, "include_usage": True}
    assert ask_for_usage(b'{"stream": tru', CHAT) == (b'{"stream": tru', False)


def test_non_sse_stream_reads_usage_from_its_tail() -> None:
    tap = UsageTap()
    tap.stream(sse=False)
    answer = json.dumps({"pad": "x" * 10000, "usage": USAGE}).encode()
    for at in range(0, len(answer), 1000):
        tap.chunk(answer[at : at + 1000])
    tap.end()
    assert (tap.prompt, tap.completion, tap.found) == (31, 5, True)
