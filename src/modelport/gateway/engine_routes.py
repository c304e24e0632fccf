"""Where an engine serves each model-in-body operation, and how to translate where it differs.

Dialect clients call operations in vLLM's layout (`Operation`: `/v1/chat/completions`, ...,
`/v1/responses`, `/tokenize`, `/detokenize`), and most engines serve them there. An engine that
lacks one under that path has a `Translation` here: the path it serves the operation under, the
request body it expects there and how its answer becomes the one the client asked for. Pure:
JSON in, JSON out; `gateway/reshaping_client.py` moves the answer's bytes.

llama.cpp (llama-cpp-python's server):
- `/tokenize` -> `/extras/tokenize` (`prompt` -> `input`; answers `tokens` plus `count`);
- `/detokenize` -> `/extras/detokenize` (answers `prompt` for its `text`);
- `/v1/responses` -> `/v1/chat/completions` (not streamed): `instructions` becomes a system
  message, `input` the conversation, `max_output_tokens` `max_tokens`; the chat answer becomes
  a Response with one assistant message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelport.domain.specs import Framework
from modelport.gateway.dialect_paths import Operation
from modelport.gateway.incoming import BadRequest

Json = dict[str, Any]


class BadAnswer(Exception):
    """The engine's 2xx answer is not the shape its API promises (the gateway answers 502)."""


@dataclass(frozen=True, slots=True)
class Translation:
    path: str  # where the engine serves the operation
    request: Callable[[Json], Json]  # the client's body (model set) -> the engine's; BadRequest
    answer: Callable[[Json, Json], Json]  # (client's request, engine's 2xx answer) -> client's


def translation(framework: Framework, operation: Operation) -> Translation | None:
    """How `framework` serves `operation`, or None: at `operation.value`, as sent."""
    return TRANSLATIONS.get((framework, operation))


def _invalid(field: str, message: str) -> BadRequest:
    return BadRequest(f"{field}: {message}", "invalid_request")


def _unavailable(field: str, framework: Framework) -> BadRequest:
    return BadRequest(
        f"{field}: not available on {framework.value} endpoints", "unsupported_parameter"
    )


# --- tokenize / detokenize -------------------------------------------------------------------
def _llamacpp_tokenize(body: Json) -> Json:
    if body.get("messages") is not None:
        raise _unavailable("messages", Framework.LLAMACPP)  # needs the chat template applied
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        raise _invalid("prompt", "required: the text to tokenize")
    return {"model": body["model"], "input": prompt}


def _llamacpp_tokens(_request: Json, answer: Json) -> Json:
    tokens = answer.get("tokens")
    if not isinstance(tokens, list):
        raise BadAnswer("tokenize answer without tokens")
    return {"tokens": tokens, "count": len(tokens)}


def _llamacpp_detokenize(body: Json) -> Json:
    tokens = body.get("tokens")
    if not isinstance(tokens, list) or not all(
        isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in tokens
    ):
        raise _invalid("tokens", "required: a list of token ids (non-negative integers)")
    return {"model": body["model"], "tokens": tokens}


def _llamacpp_text(_request: Json, answer: Json) -> Json:
    text = answer.get("text")
    if not isinstance(text, str):
        raise BadAnswer("detokenize answer without text")
    return {"prompt": text}


# --- the Responses API over chat completions -------------------------------------------------
# Responses fields a chat completion can honour, and their chat names. Any other field with a
# value is refused by name: dropping it silently would answer a different question.
_RESPONSES_TO_CHAT = {
    "max_output_tokens": "max_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "user": "user",
}
_RESPONSES_IGNORED = frozenset({"model", "input", "instructions", "stream", "store", "metadata"})
_TEXT_PARTS = frozenset({"input_text", "output_text", "text"})
_ROLES = frozenset({"system", "developer", "user", "assistant"})


def _responses_to_chat(body: Json) -> Json:
    for key, value in body.items():
        if value is not None and key not in _RESPONSES_TO_CHAT and key not in _RESPONSES_IGNORED:
            raise _unavailable(key, Framework.LLAMACPP)
    if body.get("stream") is True:
        raise BadRequest(
            "stream: streamed Responses are not available on llamacpp endpoints; send "
            "stream false, or stream chat completions",
            "unsupported_parameter",
        )
    messages: list[Json] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise _invalid("instructions", "must be a string")
        messages.append({"role": "system", "content": instructions})
    messages.extend(_input_messages(body.get("input")))
    chat: Json = {"model": body["model"], "messages": messages}
    for key, chat_key in _RESPONSES_TO_CHAT.items():
        if body.get(key) is not None:
            chat[chat_key] = body[key]
    return chat


def _input_messages(value: object) -> list[Json]:
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise _invalid("input", "required: a string or a non-empty list of messages")
    return [_message(item, f"input[{index}]") for index, item in enumerate(value)]


def _message(item: object, where: str) -> Json:
    if not isinstance(item, dict) or item.get("type", "message") != "message":
        raise _invalid(where, "only messages ({role, content}) are available here")
    role = item.get("role")
    if role not in _ROLES:
        raise _invalid(f"{where}.role", f"one of {', '.join(sorted(_ROLES))}")
    content = item.get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(_text_part(part, f"{where}.content[{i}]") for i, part in enumerate(content))
    else:
        raise _invalid(f"{where}.content", "a string or a list of text parts")
    return {"role": "system" if role == "developer" else role, "content": text}


def _text_part(part: object, where: str) -> str:
    if not isinstance(part, dict) or part.get("type") not in _TEXT_PARTS:
        raise _invalid(where, "only text parts ({type: input_text, text}) are available here")
    text = part.get("text")
    if not isinstance(text, str):
        raise _invalid(f"{where}.text", "must be a string")
    return text


def _chat_to_response(request: Json, answer: Json) -> Json:
    try:
        choice = answer["choices"][0]
        text = choice["message"].get("content") or ""
        chat_id = str(answer["id"])
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise BadAnswer("chat completion answer without a message") from exc
    complete = choice.get("finish_reason") != "length"
    status = "completed" if complete else "incomplete"
    found = answer.get("usage")
    usage: Json = found if isinstance(found, dict) else {}
    suffix = chat_id.removeprefix("chatcmpl-")
    return {
        "id": f"resp_{suffix}",
        "object": "response",
        "created_at": answer.get("created"),
        "model": answer.get("model"),
        "status": status,
        "incomplete_details": None if complete else {"reason": "max_output_tokens"},
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "metadata": request.get("metadata") or {},
        "output": [
            {
                "type": "message",
                "id": f"msg_{suffix}",
                "status": status,
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "usage": {
            "input_tokens": usage.get("prompt_tokens"),
            "output_tokens": usage.get("completion_tokens"),
            "total_tokens": usage.get("total_tokens"),
        },
    }


TRANSLATIONS: Mapping[tuple[Framework, Operation], Translation] = {
    (Framework.LLAMACPP, Operation.TOKENIZE): Translation(
        "/extras/tokenize", _llamacpp_tokenize, _llamacpp_tokens
    ),
    (Framework.LLAMACPP, Operation.DETOKENIZE): Translation(
        "/extras/detokenize", _llamacpp_detokenize, _llamacpp_text
    ),
    (Framework.LLAMACPP, Operation.RESPONSES): Translation(
        "/v1/chat/completions", _responses_to_chat, _chat_to_response
    ),
}
# The operations some engine answers in another shape (their answers may need reshaping).
TRANSLATED = frozenset(operation for _framework, operation in TRANSLATIONS)
