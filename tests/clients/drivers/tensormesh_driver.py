"""Runs in .venv-clients: Tensormesh's official `tensormesh` SDK, through its public API only.

The control plane client is configured as a user would, from the environment alone:
TENSORMESH_CONTROL_PLANE_BASE_URL={server}/tensormesh, TENSORMESH_CONTROL_PLANE_TOKEN=<token>,
TENSORMESH_ENABLE_ON_DEMAND=1 (the SDK's switch for models and deployment calls). The
inference client takes the model's `endpoint` as its base URL, the model's apiKey and, for the
on-demand surface, the user id that whoami returned. Results are the SDK's own objects as
their `to_dict()`.
"""

from __future__ import annotations

from typing import Any

from rpc import serve
from tensormesh import Tensormesh


def _out(value: Any) -> Any:
    """The SDK's objects as plain data (some to_dict() keep nested objects as they are)."""
    if hasattr(value, "to_dict"):
        return _out(value.to_dict())
    if isinstance(value, list):
        return [_out(item) for item in value]
    if isinstance(value, dict):
        return {key: _out(item) for key, item in value.items()}
    return value


def _models() -> Any:
    return Tensormesh().control_plane.models


def whoami() -> Any:
    return _out(Tensormesh().control_plane.users.get_auth_profile())


def deploy(request: dict[str, Any]) -> Any:
    return _out(_models().deploy(request=request))


def list_models(user_id: str | None = None) -> Any:
    return _out(_models().list(user_id=user_id))


def get(model_id: str) -> Any:
    return _out(_models().get(model_id))


def validate(model_name: str) -> Any:
    return _out(_models().validate_name(model_name=model_name))


def search(infra: dict[str, Any]) -> Any:
    return _out(_models().search_by_infra(infra=infra))


def check(model_id: str) -> Any:
    return _out(_models().check(model_id=model_id))


def chat(model_id: str, body: str) -> Any:
    return _out(_models().chat(model_id, body=body))


def delete(model_id: str) -> Any:
    return _out(_models().delete(model_id))


def logs(deployment_id: str, limit: int | None = None) -> Any:
    client = Tensormesh().control_plane.observability.deployments
    return _out(client.logs.list(deployment_id, limit=limit))


def metrics(deployment_id: str) -> Any:
    client = Tensormesh().control_plane.observability.deployments
    return _out(client.metrics.get(deployment_id))


def balance() -> Any:
    return _out(Tensormesh().control_plane.billing.balance.get())


def infer(what: str, base_url: str, api_key: str, user_id: str | None = None, **kwargs: Any) -> Any:
    """One call of the inference client: on-demand when a user id is given, else serverless."""
    if user_id is None:
        client = Tensormesh(serverless_base_url=base_url, inference_api_key=api_key, env={})
        surface = client.inference.serverless
    else:
        client = Tensormesh(
            on_demand_base_url=base_url,
            on_demand_user_id=user_id,
            inference_api_key=api_key,
            enable_on_demand=True,
            env={},
        )
        surface = client.inference.on_demand
    calls = {
        "chat": lambda: surface.chat.completions.create(**kwargs),
        "completions": lambda: surface.completions.create(**kwargs),
        "models": lambda: surface.models.list(),
        "tokenize": lambda: surface.tokenize.create(**kwargs),
        "detokenize": lambda: surface.detokenize.create(**kwargs),
        "health": lambda: surface.health.get(),
        "version": lambda: surface.version.get(),
    }
    return _out(calls[what]())


if __name__ == "__main__":
    serve(
        {
            "whoami": whoami,
            "deploy": deploy,
            "list": list_models,
            "get": get,
            "validate": validate,
            "search": search,
            "check": check,
            "chat": chat,
            "delete": delete,
            "logs": logs,
            "metrics": metrics,
            "balance": balance,
            "infer": infer,
        }
    )
