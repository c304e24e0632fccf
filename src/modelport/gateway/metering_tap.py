"""Token counts of one answer, read from the engine's `usage` as the proxy relays it.

Cheap on purpose: a whole JSON answer is searched once for its last `"usage"` (C speed) and
only that object is read; a stream is scanned per chunk for the bytes `"usage"` (and `data:`
counted), and only the event carrying them is parsed.

Streams: OpenAI-style engines send usage in a last event (`choices: []`) only when asked with
`stream_options.include_usage`. The gateway asks for it when the client did not
(`ask_for_usage`) and then drops that event, so the client gets what the engine would have sent
it. An engine that never sends usage when streaming (llama-cpp-python's server) leaves the
completion tokens to be counted from the events that carry text; such requests are counted as
`estimated`, with no prompt tokens.
"""

from __future__ import annotations

import json
import re
from typing import Any

_USAGE = b'"usage"'
_DATA = b"data:"
_DONE = b"[DONE]"
_PROMPT = re.compile(rb'"prompt_tokens"\s*:\s*(\d+)')
_COMPLETION = re.compile(rb'"completion_tokens"\s*:\s*(\d+)')
_USAGE_PATHS = ("/chat/completions", "/completions")  # where stream_options is understood
_TAIL = 4096  # bytes of a non-SSE streamed body kept to find its usage at the end


def tapped(method: str, body: bytes, forward_path: str) -> tuple[bytes, UsageTap | None]:
    """The body to send and the tap that reads the answer's token usage (POSTs only): for a
    live request as for a queued invocation's call."""
    if method != "POST":
        return body, None
    body, asked = ask_for_usage(body, forward_path)
    return body, UsageTap(strip=asked)


def ask_for_usage(body: bytes, forward_path: str) -> tuple[bytes, bool]:
    """The body to send and whether the gateway added `include_usage` (then it strips the
    usage event). Only streamed OpenAI completions are touched, and parsed."""
    if _STREAM not in body or not forward_path.partition("?")[0].endswith(_USAGE_PATHS):
        return body, False
    try:
        payload = json.loads(body)
    except ValueError:
        return body, False  # the engine answers what is wrong with it
    if not isinstance(payload, dict) or payload.get("stream") is not True:
        return body, False
    options = payload.get("stream_options")
    if options is None:
        options = {}
    elif not isinstance(options, dict) or options.get("include_usage") is True:
        return body, False  # asked by the client (it keeps the event) or malformed
    payload["stream_options"] = {**options, "include_usage": True}
    return json.dumps(payload, separators=(",", ":")).encode(), True


_STREAM = b'"stream"'


class UsageTap:
    """What one answer used; `strip`: drop the usage-only event (the gateway asked for it)."""

    __slots__ = (
        "_done",
        "_events",
        "_first",
        "_last",
        "_sse",
        "_strip",
        "_tail",
        "completion",
        "estimated",
        "found",
        "prompt",
    )  # fmt: skip

    def __init__(self, strip: bool = False) -> None:
        self.prompt = 0
        self.completion = 0
        self.found = False  # the engine's usage was read
        self.estimated = False  # completion tokens counted from the stream's text events
        self._strip = strip
        self._sse = False
        self._events = 0  # `data:` lines seen
        self._done = False  # `data: [DONE]` seen
        self._first = b""  # the first chunk with an event
        self._last = b""  # the last chunk with an event other than [DONE]
        self._tail = b""

    def body(self, body: bytes) -> None:
        """A whole (non-streamed) answer."""
        at = body.rfind(_USAGE)
        if at >= 0:
            self._read(body[at:])

    def stream(self, sse: bool) -> None:
        """The answer streams; `sse`: as text/event-stream."""
        self._sse = sse

    def chunk(self, chunk: bytes) -> bytes:
        """One streamed chunk as the client gets it (the usage event removed if asked)."""
        if not self._sse:
            self._tail = (self._tail + chunk)[-_TAIL:]
            return chunk
        events = chunk.count(_DATA)
        if not events:
            return chunk
        self._events += events
        if _USAGE in chunk:
            chunk = self._usage_events(chunk)
        if _DONE in chunk:
            self._done = True
            if chunk.count(_DATA) == 1:
                return chunk
        if chunk and not self._first:
            self._first = chunk
        if chunk:
            self._last = chunk
        return chunk

    def end(self) -> None:
        """The stream ended: without the engine's usage, count its text events."""
        if self.found:
            return
        if not self._sse:
            self.body(self._tail)
            return
        if not self._events:
            return
        events = self._events - (1 if self._done else 0)
        if self._first and not _has_text(_first_event(self._first)):
            events -= 1  # a role-only opening event
        if self._last and self._last is not self._first and not _has_text(_last_event(self._last)):
            events -= 1  # a closing event with finish_reason only
        self.completion = max(events, 0)
        self.estimated = True

    def _read(self, text: bytes) -> None:
        prompt, completion = _PROMPT.search(text), _COMPLETION.search(text)
        if prompt is None and completion is None:
            return
        self.prompt = int(prompt.group(1)) if prompt else 0
        self.completion = int(completion.group(1)) if completion else 0
        self.found = True

    def _usage_events(self, chunk: bytes) -> bytes:
        """Read the event(s) with usage; drop a usage-only one when the gateway asked for it."""
        kept: list[bytes] = []
        for event in chunk.split(b"\n\n"):
            if _USAGE in event:
                payload = _payload(event)
                if isinstance(payload, dict) and isinstance(payload.get("usage"), dict):
                    self._read(event[event.find(_USAGE) :])
                    if self._strip and not payload.get("choices"):
                        self._events -= 1
                        continue
            kept.append(event)
        return b"\n\n".join(kept)


def _payload(event: bytes) -> Any:
    at = event.find(_DATA)
    if at < 0:
        return None
    try:
        return json.loads(event[at + len(_DATA) :])
    except ValueError:
        return None


def _first_event(chunk: bytes) -> Any:
    return _payload(chunk.split(b"\n\n", 1)[0])


def _last_event(chunk: bytes) -> Any:
    events = [e for e in chunk.split(b"\n\n") if _DATA in e and _DONE not in e]
    return _payload(events[-1]) if events else None


def _has_text(payload: Any) -> bool:
    """An event with generated text (chat delta content, or completion text)."""
    if not isinstance(payload, dict):
        return True  # unknown shape: count it
    choices = payload.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return False
    choice = choices[0]
    delta = choice.get("delta")
    text = delta.get("content") if isinstance(delta, dict) else choice.get("text")
    return isinstance(text, str) and text != ""
