"""NativeClient: what the proxy sends for a DeepInfra native request reaches the client in
DeepInfra's shapes, whichever way the replica's answer arrives (whole, in pieces, streamed)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from modelport.gateway.deepinfra_native import to_openai
from modelport.gateway.downstream import Headers
from modelport.gateway.native_client import NativeClient
from modelport.gateway.upstream import UpstreamConnection


@dataclass
class Recorded:
    """A ClientSide (our seam) that keeps what reaches the client."""

    status: int = 0
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    ended: bool = False

    async def read_body(self, declared: int | None, limit: int) -> bytes:
        return b""

    def watch(self, upstream: UpstreamConnection | None) -> None:
        return None

    async def respond(self, status: int, headers: Headers, body: bytes) -> None:
        self.status, self.headers, self.body, self.ended = status, headers, body, True

    async def start(self, status: int, headers: Headers) -> None:
        self.status, self.headers = status, headers

    async def send(self, chunk: bytes) -> None:
        self.body += chunk

    async def end(self) -> None:
        self.ended = True

    def header(self, name: bytes) -> bytes | None:
        found = [value for key, value in self.headers if key == name]
        assert len(found) <= 1, self.headers
        return found[0] if found else None

    def json(self) -> Any:
        return json.loads(self.body)


COMPLETION = {
    "choices": [{"index": 0, "text": " Paris."}],
    "usage": {"prompt_tokens": 5, "completion_tokens": 2},
}
UPSTREAM_HEADERS: Headers = [
    (b"content-type", b"application/json"),
    (b"content-length", b"999"),
    (b"x-request-id", b"rid"),
]


def _client(stream: bool = False) -> tuple[NativeClient, Recorded]:
    recorded = Recorded()
    client = NativeClient(recorded, "rid")
    client.expect(to_openai({"input": "x", "stream": stream}))
    return client, recorded


def test_a_whole_answer_is_translated_with_its_new_length():
    client, seen = _client()
    asyncio.run(client.respond(200, list(UPSTREAM_HEADERS), json.dumps(COMPLETION).encode()))
    assert seen.status == 200
    assert seen.json()["results"] == [{"generated_text": " Paris."}]
    assert seen.json()["request_id"] == "rid"
    assert seen.header(b"content-length") == str(len(seen.body)).encode()
    assert seen.header(b"x-request-id") == b"rid"


def test_an_answer_in_pieces_is_translated_once_whole():
    client, seen = _client()
    raw = json.dumps(COMPLETION).encode()

    async def relay() -> None:
        await client.start(200, [(b"content-type", b"application/json")])
        for i in range(0, len(raw), 5):
            await client.send(raw[i : i + 5])
        await client.end()

    asyncio.run(relay())
    assert seen.ended and seen.json()["num_tokens"] == 2


def test_a_stream_is_translated_event_by_event():
    client, seen = _client(stream=True)
    events = [
        {"choices": [{"index": 0, "text": " Paris", "finish_reason": None}]},
        {"choices": [{"index": 0, "text": "", "finish_reason": "stop"}]},
    ]
    upstream = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)

    async def relay() -> None:
        await client.start(200, [(b"content-type", b"text/event-stream")])
        await client.send(upstream + b"data: [DONE]\n\n")
        await client.end()

    asyncio.run(relay())
    assert seen.header(b"content-type") == b"text/event-stream"
    assert seen.header(b"content-length") is None
    sent = [json.loads(line[6:]) for line in seen.body.split(b"\n\n") if line]
    assert [e["token"]["text"] for e in sent] == [" Paris", ""]
    assert sent[-1]["generated_text"] == " Paris"
    assert seen.ended


def test_a_stream_the_replica_sent_whole_is_still_token_events():
    client, seen = _client(stream=True)
    event = {"choices": [{"index": 0, "text": "Hi", "finish_reason": "length"}]}
    asyncio.run(client.respond(200, [], b"data: " + json.dumps(event).encode() + b"\n\n"))
    assert seen.header(b"content-type") == b"text/event-stream"
    sent = [json.loads(line[6:]) for line in seen.body.split(b"\n\n") if line]
    assert sent[-1]["generated_text"] == "Hi"


def test_errors_take_deepinfras_envelope_before_and_after_the_request_is_known():
    unknown = Recorded()
    openai_error = {"error": {"message": "no token", "type": "authentication_error"}}
    asyncio.run(NativeClient(unknown, "r").respond(401, [], json.dumps(openai_error).encode()))
    assert (unknown.status, unknown.json()) == (401, {"detail": "no token"})

    client, seen = _client(stream=True)

    async def streamed_error() -> None:
        await client.start(500, [(b"content-type", b"text/plain")])
        await client.send(b"engine ")
        await client.send(b"exploded")
        await client.end()

    asyncio.run(streamed_error())
    assert (seen.status, seen.json()) == (500, {"detail": "engine exploded"})
    assert seen.header(b"content-type") == b"application/json"


def test_an_answer_in_another_shape_is_a_502_saying_so():
    client, seen = _client()
    asyncio.run(client.respond(200, [], b"<html>oops</html>"))
    assert seen.status == 502
    assert "not JSON" in seen.json()["detail"]
