"""POST /v1/models/{modelId}:chat: one chat with a model's deployment, through the gateway.

The request goes to the gateway's own Tensormesh inference URL with the caller's token, so it
meets the same authentication, limits, balancing, retries and metrics as any client's request
(the API never talks to a replica). `body` is a user message, answered with the reply's text;
or a chat completion request as a JSON object with `messages`, answered with the completion
as JSON (not streamed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx

from modelport.dialects.tensormesh.errors import RpcCode, TensormeshError, invalid

CHAT_PATH = "/v1/chat/completions"
TIMEOUT_SECONDS = 300.0  # a long completion on a CPU; Tensormesh's client waits as long

# The gateway's status as the google.rpc code the caller gets (5xx: the deployment failed).
_CODES: Mapping[int, RpcCode] = {
    400: RpcCode.INVALID_ARGUMENT,
    401: RpcCode.UNAUTHENTICATED,
    403: RpcCode.PERMISSION_DENIED,
    404: RpcCode.NOT_FOUND,
    408: RpcCode.UNAVAILABLE,
    413: RpcCode.RESOURCE_EXHAUSTED,
    429: RpcCode.RESOURCE_EXHAUSTED,
}


def chat_request(model_name: str, body: str) -> tuple[dict[str, Any], bool]:
    """The chat completion to send, and whether `body` was one (answered as JSON)."""
    if not body.strip():
        raise invalid("body", "required (a message, or a chat completion request as JSON)")
    try:
        given = json.loads(body)
    except ValueError:
        given = None
    if isinstance(given, dict) and "messages" in given:
        return {**given, "model": model_name, "stream": False}, True
    return {"model": model_name, "messages": [{"role": "user", "content": body}]}, False


async def chat(inference_base: str, authorization: str, model_name: str, body: str) -> str:
    """The model's answer to `body` (see the module doc)."""
    request, raw = chat_request(model_name, body)
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
            answer = await client.post(
                f"{inference_base}{CHAT_PATH}",
                json=request,
                headers={"Authorization": authorization},
            )
    except httpx.HTTPError as exc:
        raise TensormeshError(
            RpcCode.UNAVAILABLE, f"modelId: the model's deployment did not answer ({exc})"
        ) from exc
    if answer.status_code >= 400:
        code = _CODES.get(answer.status_code, RpcCode.UNAVAILABLE)
        raise TensormeshError(code, f"modelId: the model answered {_error_text(answer)}")
    if raw:
        return answer.text
    return _reply_text(answer)


def _reply_text(answer: httpx.Response) -> str:
    try:
        content = answer.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise TensormeshError(
            RpcCode.UNAVAILABLE, "modelId: the model's answer is not a chat completion"
        ) from exc
    return content if isinstance(content, str) else ""


def _error_text(answer: httpx.Response) -> str:
    """The gateway's OpenAI-shaped error message, with its status."""
    try:
        message = answer.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = answer.reason_phrase
    return f"{answer.status_code}: {message}"
