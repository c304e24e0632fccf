"""The model names vendor dialects' clients send, read from each endpoint's spec extensions.

The dialects' management APIs keep what they need in `spec.extensions[<dialect>]`. The route
table reads these names once per rebuild and indexes them, so resolving a dialect request's
`model` is one dict lookup and never touches the store.

- DeepInfra: `model` is the deployment's `model_name` ("username/model-name") or
  `deploy_id:<deploy_id>`.
- Tensormesh: `model` is the deployment's `modelName`, or the Modelport endpoint name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelport.domain import dialects

DEEPINFRA = dialects.DEEPINFRA.name
TENSORMESH = dialects.TENSORMESH.name


@dataclass(frozen=True, slots=True)
class DialectNames:
    """How one dialect names endpoints in a request's `model`."""

    # Names from the dialect's extension dict; the first is the id its model list shows.
    explicit: Callable[[Mapping[str, Any]], tuple[str, ...]]
    # The endpoint's own name resolves too (after every explicit name, which wins a clash).
    by_endpoint_name: bool


def _deepinfra(extension: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    model_name = extension.get("model_name")
    if isinstance(model_name, str) and model_name:
        names.append(model_name)
    deploy_id = extension.get("deploy_id")
    if isinstance(deploy_id, str | int) and not isinstance(deploy_id, bool) and deploy_id != "":
        names.append(f"deploy_id:{deploy_id}")
    return tuple(names)


def _tensormesh(extension: Mapping[str, Any]) -> tuple[str, ...]:
    model_name = extension.get("modelName")
    return (model_name,) if isinstance(model_name, str) and model_name else ()


DIALECT_NAMES: Mapping[str, DialectNames] = {
    DEEPINFRA: DialectNames(_deepinfra, by_endpoint_name=False),
    TENSORMESH: DialectNames(_tensormesh, by_endpoint_name=True),
}


def explicit_names(dialect: str, extensions: Mapping[str, Any]) -> tuple[str, ...]:
    """The names `extensions[dialect]` gives an endpoint (none if it is missing or malformed)."""
    extension = extensions.get(dialect)
    if not isinstance(extension, Mapping):
        return ()
    return DIALECT_NAMES[dialect].explicit(extension)
