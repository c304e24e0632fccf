"""Request bodies: size limits, the `model` field, and rewriting it for dialect requests."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from modelport.gateway.incoming import (
    BadRequest,
    BodyTooLarge,
    ClientGone,
    parse_model,
    read_body,
    with_model,
)


def messages(*items: dict[str, Any]) -> Callable[[], Awaitable[dict[str, Any]]]:
    queue = list(items)

    async def receive() -> dict[str, Any]:
        return queue.pop(0)

    return receive


async def test_read_body_joins_chunks_and_enforces_the_limit() -> None:
    chunks = messages(
        {"type": "http.request", "body": b"ab", "more_body": True},
        {"type": "http.request", "body": b"cd", "more_body": False},
    )
    assert await read_body(chunks, None, 10) == b"abcd"
    with pytest.raises(BodyTooLarge):
        await read_body(messages(), 11, 10)
    with pytest.raises(BodyTooLarge):
        await read_body(messages({"type": "http.request", "body": b"x" * 11}), None, 10)
    with pytest.raises(ClientGone):
        await read_body(messages({"type": "http.disconnect"}), None, 10)


def test_parse_model_names_what_is_wrong() -> None:
    payload, model = parse_model(b'{"model": "m", "x": 1}')
    assert (payload, model) == ({"model": "m", "x": 1}, "m")
    cases = [(b"{", "invalid_json"), (b"[]", "model_required"), (b"{}", "model_required")]
    for body, code in cases:
        with pytest.raises(BadRequest) as raised:
            parse_model(body)
        assert raised.value.code == code
    with pytest.raises(BadRequest):
        parse_model(b'{"model": ""}')


def test_with_model_keeps_the_bytes_when_the_name_already_matches() -> None:
    body = b'{ "model" :"web",  "stream": true }'
    payload, _ = parse_model(body)
    assert with_model(payload, body, "web") is body


def test_with_model_rewrites_only_the_model() -> None:
    body = (
        '{"messages": [{"role": "user", "content": "h\u00e9 \\ud83d\\ude00 \\ud800"}], '
        '"model": "acme/chat", "n": 1.5}'
    )
    payload, _ = parse_model(body.encode())
    rewritten = with_model(payload, body.encode(), "acme--chat-1a2b3c")
    assert json.loads(rewritten) == {**json.loads(body), "model": "acme--chat-1a2b3c"}
    assert list(json.loads(rewritten)) == ["messages", "model", "n"]  # key order kept
    rewritten.decode("ascii")  # escaped: valid whatever the input held
