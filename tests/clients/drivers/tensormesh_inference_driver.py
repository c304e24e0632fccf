"""Tensormesh's inference client (`tensormesh` SDK), one public call per operation.

Configured only as its docs say, from the environment the test gives: TENSORMESH_INFERENCE_API_KEY
and either the on-demand surface (TENSORMESH_ENABLE_ON_DEMAND=1,
TENSORMESH_ON_DEMAND_BASE_URL, TENSORMESH_ON_DEMAND_USER_ID) or the serverless one
(TENSORMESH_SERVERLESS_BASE_URL). `surface` picks which one a call goes through.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from rpc import serve
from tensormesh import Tensormesh

_client = Tensormesh()


def _plain(answer: Any) -> Any:
    """The client's typed answer (slotted dataclasses, nested) as plain data."""
    return asdict(answer)


def _surface(surface: str) -> Any:
    inference = _client.inference
    return inference.on_demand if surface == "on_demand" else inference.serverless


def models(surface: str = "on_demand") -> Any:
    return _plain(_surface(surface).models.list())


def chat(model: str, content: str, max_tokens: int, surface: str = "on_demand") -> Any:
    answer = _surface(surface).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": content}],
        max_tokens=max_tokens,
        temperature=0,
    )
    return _plain(answer)


def chat_stream(model: str, content: str, max_tokens: int, surface: str = "on_demand") -> Any:
    stream = _surface(surface).chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": content}],
        max_tokens=max_tokens,
        temperature=0,
        stream=True,
    )
    with stream:
        chunks = list(stream)
    text = "".join(c.delta.content or "" for chunk in chunks for c in chunk.choices)
    return {"chunks": len(chunks), "models": sorted({c.model for c in chunks}), "text": text}


def completion(model: str, prompt: str, max_tokens: int, surface: str = "on_demand") -> Any:
    answer = _surface(surface).completions.create(
        model=model, prompt=prompt, max_tokens=max_tokens, temperature=0
    )
    return _plain(answer)


def response(model: str, input: Any, max_output_tokens: int, surface: str = "on_demand") -> Any:
    answer = _surface(surface).responses.create(
        model=model, input=input, max_output_tokens=max_output_tokens
    )
    return _plain(answer)


def response_stream(model: str, input: Any, surface: str = "on_demand") -> Any:
    raw = _surface(surface).responses.with_streaming_response.create(model=model, input=input)
    return {"status_code": raw.status_code, "json": raw.json()}


def tokenize(
    model: str,
    prompt: str | None = None,
    messages: list[dict[str, Any]] | None = None,
    surface: str = "on_demand",
) -> Any:
    answer = _surface(surface).tokenize.create(model=model, prompt=prompt, messages=messages)
    return _plain(answer)


def detokenize(model: str, tokens: list[int], surface: str = "on_demand") -> Any:
    return _plain(_surface(surface).detokenize.create(model=model, tokens=tokens))


def health(surface: str = "on_demand") -> Any:
    return _plain(_surface(surface).health.get())


def version(surface: str = "on_demand") -> Any:
    return _plain(_surface(surface).version.get())


if __name__ == "__main__":
    serve(
        {
            "models": models,
            "chat": chat,
            "chat_stream": chat_stream,
            "completion": completion,
            "response": response,
            "response_stream": response_stream,
            "tokenize": tokenize,
            "detokenize": detokenize,
            "health": health,
            "version": version,
        }
    )
