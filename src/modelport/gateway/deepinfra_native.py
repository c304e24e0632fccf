"""DeepInfra's own inference API (`POST /deepinfra/v1/inference/{model}`) as OpenAI calls.

Pure translation, no I/O: a DeepInfra request body in, the OpenAI request the replica gets out;
the replica's OpenAI answer in, DeepInfra's answer out (whole, or as DeepInfra's SSE token
events). The gateway reads and writes the bytes (`gateway/native_client.py`).

- Text generation: `{"input": "...", "max_new_tokens", "temperature", ...}` -> `/v1/completions`
  -> `{"results": [{"generated_text"}], "num_tokens", "num_input_tokens", "request_id",
  "inference_status"}`; with `"stream": true`, one `data: {"token": {...}, "generated_text":
  null, "details": null}` event per piece of text, then one with the whole `generated_text`
  and `details`.
- Embeddings: `{"inputs": [...], "normalize"}` -> `/v1/embeddings` -> `{"embeddings",
  "input_tokens", "request_id", "inference_status"}`.

Which one a request is comes from its body (`input` or `inputs`). Bad input is `BadInput`,
naming the field; DeepInfra's envelope is `{"detail": [{"loc", "msg", "type"}]}` for bad input
and `{"detail": "message"}` for every other error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from modelport.domain.json_depth import nesting_exceeds

# DeepInfra's defaults where the engines' differ (llama.cpp stops at 16 tokens by default).
TEXT_DEFAULTS: Mapping[str, Any] = {"max_tokens": 512, "temperature": 0.7, "top_p": 0.9}
MAX_STOP_SEQUENCES = 16


class Task(Enum):
    TEXT_GENERATION = "/v1/completions"  # {"input": "..."}
    EMBEDDINGS = "/v1/embeddings"  # {"inputs": ["...", ...]}


class BadInput(Exception):
    """A request DeepInfra would refuse: 422 naming `field` (a body field, or "body")."""

    def __init__(self, field: str, message: str, type_: str = "value_error") -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.type = type_


@dataclass(frozen=True, slots=True)
class NativeRequest:
    task: Task
    stream: bool
    normalize: bool  # embeddings: scale each vector to length 1
    openai: dict[str, Any]  # the replica's request body, less `model` (the gateway sets it)


# --- checks ----------------------------------------------------------------------------------
Check = Callable[[Any], str | None]  # a value -> what is wrong with it, or None


def _number(low: float | None, high: float | None, *, integer: bool = False) -> Check:
    kind = "an integer" if integer else "a number"

    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be {kind}"
        if integer and not isinstance(value, int):
            return f"must be {kind}"
        if not math.isfinite(value):
            return "must be a finite number"
        if (low is not None and value < low) or (high is not None and value > high):
            lo = "" if low is None else f"{low} <= "
            hi = "" if high is None else f" <= {high}"
            return f"must be {lo}x{hi}, got {value}"
        return None

    return check


def _open_unit(value: Any) -> str | None:
    """0 < x <= 1 (top_p)."""
    problem = _number(0, 1)(value)
    return problem or ("must be 0 < x <= 1, got 0" if value == 0 else None)


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _stop(value: Any) -> str | None:
    if isinstance(value, str):
        return None
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        return "must be a string or a list of strings"
    if len(value) > MAX_STOP_SEQUENCES:
        return f"takes at most {MAX_STOP_SEQUENCES} sequences, got {len(value)}"
    return None


def _response_format(value: Any) -> str | None:
    if not isinstance(value, dict) or value.get("type") not in ("text", "json_object"):
        return 'must be {"type": "text"} or {"type": "json_object"}'
    return None


def _not_served(what: str) -> Check:
    def check(value: Any) -> str | None:
        return None if value is None else f"is not supported by this server: {what}"

    return check


@dataclass(frozen=True, slots=True)
class Param:
    """One DeepInfra request field: how it is checked and the OpenAI fields it becomes."""

    check: Check
    targets: tuple[str, ...] = ()  # none: checked, not forwarded (e.g. stream, normalize)
    omit: Callable[[Any], bool] = field(default=lambda _value: False)


_WEBHOOK = _not_served("answers come back on this connection, never to a webhook")
# DeepInfra's documented ranges. `repetition_penalty` goes out under both engines' names
# (vLLM / SGLang read `repetition_penalty`, llama.cpp `repeat_penalty`; each ignores the other).
TEXT_PARAMS: Mapping[str, Param] = {
    "max_new_tokens": Param(_number(1, None, integer=True), ("max_tokens",)),
    "temperature": Param(_number(0, 100), ("temperature",)),
    "top_p": Param(_open_unit, ("top_p",)),
    "min_p": Param(_number(0, 1), ("min_p",)),
    # DeepInfra's top_k 0 means "no top-k": left out (some engines refuse 0).
    "top_k": Param(_number(0, 1000, integer=True), ("top_k",), omit=lambda v: v == 0),
    "repetition_penalty": Param(_number(0.01, 5), ("repetition_penalty", "repeat_penalty")),
    "presence_penalty": Param(_number(-2, 2), ("presence_penalty",)),
    "frequency_penalty": Param(_number(-2, 2), ("frequency_penalty",)),
    "stop": Param(_stop, ("stop",)),
    "num_responses": Param(_number(1, 4, integer=True), ("n",)),
    "response_format": Param(_response_format, ("response_format",)),
    "seed": Param(_number(None, None, integer=True), ("seed",)),
    "stream": Param(_boolean),
    "webhook": Param(_WEBHOOK),
}
EMBEDDING_PARAMS: Mapping[str, Param] = {
    "normalize": Param(_boolean),
    "image": Param(_not_served("embeddings of images")),
    "webhook": Param(_WEBHOOK),
}


# --- requests --------------------------------------------------------------------------------
def parse_body(body: bytes, max_depth: int) -> dict[str, Any]:
    """The request's JSON object; BadInput (field "body") when it is none."""
    if nesting_exceeds(body, max_depth):
        raise BadInput("body", f"the JSON nests deeper than {max_depth} levels", "json_invalid")
    try:
        payload = json.loads(body)
    except ValueError:
        raise BadInput("body", "must be a JSON object (application/json)", "json_invalid") from None
    if not isinstance(payload, dict):
        raise BadInput("body", "must be a JSON object", "dict_type")
    return payload


def to_openai(payload: Mapping[str, Any]) -> NativeRequest:
    """The OpenAI request a DeepInfra inference body means; BadInput naming the field."""
    has_input, has_inputs = "input" in payload, "inputs" in payload
    if has_input and has_inputs:
        raise BadInput(
            "inputs", "send `input` (text generation) or `inputs` (embeddings), not both"
        )
    if has_inputs:
        return _embeddings(payload)
    if not has_input:
        raise BadInput(
            "input",
            "required: the prompt for text generation (or `inputs`, a list of texts, for "
            "embeddings)",
            "missing",
        )
    return _text(payload)


def forward_body(request: NativeRequest, model: str) -> bytes:
    """The replica's request body, `model` being the name the engine serves the model under."""
    return json.dumps({**request.openai, "model": model}).encode()


def _text(payload: Mapping[str, Any]) -> NativeRequest:
    prompt = payload["input"]
    if not isinstance(prompt, str):
        raise BadInput("input", "must be a string: the prompt", "string_type")
    openai: dict[str, Any] = {"prompt": prompt, **TEXT_DEFAULTS}
    _apply(payload, TEXT_PARAMS, openai, skip="input")
    stream = payload.get("stream") is True
    openai["stream"] = stream
    return NativeRequest(Task.TEXT_GENERATION, stream, normalize=False, openai=openai)


def _embeddings(payload: Mapping[str, Any]) -> NativeRequest:
    texts = payload["inputs"]
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise BadInput("inputs", "must be a non-empty list of strings", "list_type")
    openai: dict[str, Any] = {"input": texts, "encoding_format": "float"}
    _apply(payload, EMBEDDING_PARAMS, openai, skip="inputs")
    normalize = payload.get("normalize") is True
    return NativeRequest(Task.EMBEDDINGS, stream=False, normalize=normalize, openai=openai)


def _apply(
    payload: Mapping[str, Any], params: Mapping[str, Param], openai: dict[str, Any], skip: str
) -> None:
    for name, value in payload.items():
        if name == skip:
            continue
        param = params.get(name)
        if param is None:
            known = ", ".join([skip, *params])
            raise BadInput(name, f"unknown field; this request takes: {known}", "extra_forbidden")
        if value is None:  # JSON null: DeepInfra's default
            continue
        problem = param.check(value)
        if problem is not None:
            raise BadInput(name, problem)
        if param.omit(value):
            for target in param.targets:
                openai.pop(target, None)
            continue
        for target in param.targets:
            openai[target] = value


# --- answers ---------------------------------------------------------------------------------
class BadAnswer(Exception):
    """The replica's 2xx answer is not the OpenAI shape the request asked for."""


def inference_status(
    runtime_ms: int, tokens_input: int | None, tokens_generated: int
) -> dict[str, Any]:
    """DeepInfra's `inference_status`; `cost` is 0: a self-hosted server bills nothing."""
    return {
        "status": "succeeded",
        "runtime_ms": runtime_ms,
        "cost": 0.0,
        "tokens_generated": tokens_generated,
        "tokens_input": tokens_input,
    }


def to_deepinfra(
    request: NativeRequest, answer: bytes, request_id: str, runtime_ms: int
) -> dict[str, Any]:
    """DeepInfra's answer to `request` from the replica's whole OpenAI answer."""
    try:
        openai = json.loads(answer)
    except ValueError:
        raise BadAnswer("the endpoint's answer is not JSON") from None
    if not isinstance(openai, dict):
        raise BadAnswer("the endpoint's answer is not a JSON object")
    if request.task is Task.EMBEDDINGS:
        return _embeddings_answer(openai, request.normalize, request_id, runtime_ms)
    return _text_answer(openai, request_id, runtime_ms)


def _usage(openai: Mapping[str, Any]) -> tuple[int | None, int | None]:
    usage = openai.get("usage")
    if not isinstance(usage, dict):
        return None, None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    return (
        prompt if isinstance(prompt, int) else None,
        completion if isinstance(completion, int) else None,
    )


def _text_answer(openai: Mapping[str, Any], request_id: str, runtime_ms: int) -> dict[str, Any]:
    choices = openai.get("choices")
    if not isinstance(choices, list) or not all(isinstance(c, dict) for c in choices):
        raise BadAnswer("the endpoint's answer has no completion choices")
    texts = [str(c.get("text") or "") for c in sorted(choices, key=_index)]
    tokens_input, tokens_generated = _usage(openai)
    generated = tokens_generated if tokens_generated is not None else 0
    return {
        "request_id": request_id,
        "results": [{"generated_text": text} for text in texts],
        "num_tokens": generated,
        "num_input_tokens": tokens_input,
        "inference_status": inference_status(runtime_ms, tokens_input, generated),
    }


def _embeddings_answer(
    openai: Mapping[str, Any], normalize: bool, request_id: str, runtime_ms: int
) -> dict[str, Any]:
    data = openai.get("data")
    if not isinstance(data, list) or not all(
        isinstance(d, dict) and isinstance(d.get("embedding"), list) for d in data
    ):
        raise BadAnswer("the endpoint's answer has no embeddings")
    vectors = [list(d["embedding"]) for d in sorted(data, key=_index)]
    if normalize:
        vectors = [_unit(v) for v in vectors]
    tokens_input, _ = _usage(openai)
    return {
        "request_id": request_id,
        "embeddings": vectors,
        "input_tokens": tokens_input,
        "inference_status": inference_status(runtime_ms, tokens_input, 0),
    }


def _index(item: Mapping[str, Any]) -> int:
    index = item.get("index")
    return index if isinstance(index, int) else 0


def _unit(vector: list[float]) -> list[float]:
    length = math.sqrt(sum(x * x for x in vector))
    return vector if length == 0 else [x / length for x in vector]


# --- errors ----------------------------------------------------------------------------------
def field_error(error: BadInput) -> dict[str, Any]:
    """422's body: FastAPI's shape, as DeepInfra answers bad input (the value never echoed)."""
    loc = ["body"] if error.field == "body" else ["body", error.field]
    return {"detail": [{"loc": loc, "msg": f"{error.field}: {error.message}", "type": error.type}]}


def error_detail(body: bytes) -> dict[str, Any] | None:
    """`{"detail": message}` for an error body in another shape (OpenAI's `{"error":
    {"message"}}`, llama.cpp's, plain text); None when it is already DeepInfra's."""
    try:
        parsed = json.loads(body)
    except ValueError:
        text = body.decode("utf-8", "replace").strip()
        return {"detail": text or "the endpoint failed without saying why"}
    if isinstance(parsed, dict):
        if "detail" in parsed:
            return None
        error = parsed.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return {"detail": error["message"]}
        if isinstance(error, str):
            return {"detail": error}
        if isinstance(parsed.get("message"), str):
            return {"detail": parsed["message"]}
    return {"detail": json.dumps(parsed)}


# --- streams ---------------------------------------------------------------------------------
def _event(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _token(text: str, special: bool) -> dict[str, Any]:
    # OpenAI streams carry neither the token id nor (unasked) its logprob: both are null.
    return {"id": None, "text": text, "logprob": None, "special": special}


@dataclass(slots=True)
class TokenStream:
    """The replica's OpenAI completion stream, re-emitted as DeepInfra's token events.

    `feed` takes the upstream bytes as they come (events may split anywhere) and returns the
    events to send now; `finish` returns the closing event with the whole text. OpenAI's
    `data: [DONE]` is not passed on (DeepInfra's stream ends with its `generated_text` event).
    """

    request_id: str
    _pending: bytes = b""
    _texts: list[str] = field(default_factory=list)
    _pieces: int = 0
    _finish_reason: str | None = None
    _tokens_input: int | None = None
    _tokens_generated: int | None = None
    _done: bool = False

    def feed(self, chunk: bytes) -> bytes:
        self._pending += chunk
        *lines, self._pending = self._pending.split(b"\n")
        return b"".join(self._line(line.rstrip(b"\r")) for line in lines)

    def finish(self, runtime_ms: int) -> bytes:
        """The closing event (once; b"" after that)."""
        tail = self._line(self._pending.rstrip(b"\r")) if self._pending else b""
        self._pending = b""
        if self._done:
            return tail
        self._done = True
        generated = self._tokens_generated if self._tokens_generated is not None else self._pieces
        closing = {
            "token": _token("", special=True),
            "generated_text": "".join(self._texts),
            "details": {
                "finish_reason": self._finish_reason,
                "generated_tokens": generated,
                "input_length": self._tokens_input,
            },
            "num_output_tokens": generated,
            "num_input_tokens": self._tokens_input,
            "request_id": self.request_id,
            "inference_status": inference_status(runtime_ms, self._tokens_input, generated),
        }
        return tail + _event(closing)

    def _line(self, line: bytes) -> bytes:
        if not line.startswith(b"data:") or self._done:
            return b""  # blank separators, comments, other SSE fields
        data = line[len(b"data:") :].strip()
        if data == b"[DONE]":
            return b""
        try:
            payload = json.loads(data)
        except ValueError:
            return b""
        if not isinstance(payload, dict):
            return b""
        error = payload.get("error")
        if error is not None:
            self._done = True  # the stream ends here; no closing event claims success
            message = error.get("message") if isinstance(error, dict) else error
            return _event({"error_type": "inference_error", "error_message": str(message)})
        tokens_input, tokens_generated = _usage(payload)
        self._tokens_input = tokens_input if tokens_input is not None else self._tokens_input
        if tokens_generated is not None:
            self._tokens_generated = tokens_generated
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return b""
        choice = choices[0]
        reason = choice.get("finish_reason")
        if isinstance(reason, str):
            self._finish_reason = reason
        text = choice.get("text")
        if not isinstance(text, str) or not text:
            return b""
        self._texts.append(text)
        self._pieces += 1
        return _event(
            {"token": _token(text, special=False), "generated_text": None, "details": None}
        )
