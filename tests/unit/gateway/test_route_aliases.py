"""The route table's dialect index: the model names DeepInfra and Tensormesh clients send."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import DesiredState
from modelport.gateway.aliases import DEEPINFRA, TENSORMESH
from modelport.gateway.routes import RouteTable

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def endpoint(
    id: int,
    name: str,
    extensions: dict[str, Any],
    project_id: int = 1,
    desired: DesiredState = DesiredState.RUNNING,
) -> Endpoint:
    spec = EndpointSpec(framework=Framework.CUSTOM, command=["serve"], extensions=extensions)
    return Endpoint(
        id=id, project_id=project_id, name=name, spec=spec, generation=1, template_generation=1,
        desired_state=desired,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


class Source:
    def __init__(self, endpoints: list[Endpoint]) -> None:
        self.endpoints = endpoints

    def list_replicas(self) -> Sequence[Replica]:
        return []

    def list_endpoints(self, project_id: int | None = None) -> Sequence[Endpoint]:
        return self.endpoints


def deepinfra(model_name: str | None = None, deploy_id: object = None) -> dict[str, Any]:
    ext: dict[str, Any] = {}
    if model_name is not None:
        ext["model_name"] = model_name
    if deploy_id is not None:
        ext["deploy_id"] = deploy_id
    return {DEEPINFRA: ext}


async def table(*endpoints: Endpoint) -> RouteTable:
    routes = RouteTable()
    await routes.refresh(Source(list(endpoints)))
    return routes


def name_of(routes: RouteTable, dialect: str, project: int, model: str) -> str | None:
    route = routes.lookup_alias(dialect, project, model)
    return None if route is None else route.name


async def test_deepinfra_resolves_model_name_and_deploy_id_only() -> None:
    routes = await table(
        endpoint(1, "acme--chat-1a2b3c", deepinfra("acme/chat", "d1a2b3")),
        endpoint(2, "numbered", deepinfra("acme/numbered", 42)),
        endpoint(3, "native", {}),
    )
    assert name_of(routes, DEEPINFRA, 1, "acme/chat") == "acme--chat-1a2b3c"
    assert name_of(routes, DEEPINFRA, 1, "deploy_id:d1a2b3") == "acme--chat-1a2b3c"
    assert name_of(routes, DEEPINFRA, 1, "deploy_id:42") == "numbered"
    assert name_of(routes, DEEPINFRA, 1, "acme--chat-1a2b3c") is None  # not a DeepInfra name
    assert name_of(routes, DEEPINFRA, 1, "native") is None
    assert name_of(routes, DEEPINFRA, 1, "d1a2b3") is None
    assert [m for m, _ in routes.listed(DEEPINFRA, 1)] == ["acme/chat", "acme/numbered"]


async def test_tensormesh_resolves_model_name_or_endpoint_name() -> None:
    routes = await table(
        endpoint(1, "llama", {TENSORMESH: {"modelName": "meta-llama/Llama-3.1-8B"}}),
        endpoint(2, "plain", {}),
    )
    assert name_of(routes, TENSORMESH, 1, "meta-llama/Llama-3.1-8B") == "llama"
    assert name_of(routes, TENSORMESH, 1, "llama") == "llama"
    assert name_of(routes, TENSORMESH, 1, "plain") == "plain"
    assert [(m, r.name) for m, r in routes.listed(TENSORMESH, 1)] == [
        ("meta-llama/Llama-3.1-8B", "llama"),
        ("plain", "plain"),
    ]


async def test_names_are_per_project_and_only_for_running_endpoints() -> None:
    routes = await table(
        endpoint(1, "a", deepinfra("acme/chat", "x1")),
        endpoint(2, "b", deepinfra("acme/chat", "x2"), project_id=2),
        endpoint(3, "off", deepinfra("acme/off", "x3"), desired=DesiredState.STOPPED),
    )
    assert name_of(routes, DEEPINFRA, 1, "acme/chat") == "a"
    assert name_of(routes, DEEPINFRA, 2, "acme/chat") == "b"
    assert name_of(routes, DEEPINFRA, 2, "deploy_id:x1") is None
    assert name_of(routes, DEEPINFRA, 1, "acme/off") is None
    assert routes.listed(DEEPINFRA, 3) == ()


async def test_malformed_extensions_are_ignored() -> None:
    routes = await table(
        endpoint(1, "a", {DEEPINFRA: "not-a-dict", TENSORMESH: ["x"]}),
        endpoint(2, "b", {DEEPINFRA: {"model_name": 7, "deploy_id": True}}),
        endpoint(3, "c", {DEEPINFRA: {"model_name": "", "deploy_id": ""}}),
    )
    assert routes.listed(DEEPINFRA, 1) == ()
    assert name_of(routes, DEEPINFRA, 1, "deploy_id:True") is None
    assert name_of(routes, TENSORMESH, 1, "a") == "a"  # still reachable by its own name


async def test_clashes_go_to_the_explicit_name_then_the_older_endpoint_and_warn_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    source = Source(
        [
            endpoint(5, "newer", deepinfra("acme/chat", "n1")),
            endpoint(4, "older", deepinfra("acme/chat", "o1")),
            # "older" is also an endpoint name; an explicit modelName beats it.
            endpoint(6, "tm", {TENSORMESH: {"modelName": "older"}}),
        ]
    )
    routes = RouteTable()
    with caplog.at_level(logging.WARNING, logger="modelport.gateway.routes"):
        await routes.refresh(source)
        await routes.refresh(source)
    assert name_of(routes, DEEPINFRA, 1, "acme/chat") == "older"
    assert name_of(routes, DEEPINFRA, 1, "deploy_id:n1") == "newer"  # still reachable
    assert [(m, r.name) for m, r in routes.listed(DEEPINFRA, 1)] == [
        ("acme/chat", "older"),
        ("deploy_id:n1", "newer"),
    ]
    assert name_of(routes, TENSORMESH, 1, "older") == "tm"
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings  # one per clash, not one per refresh
    assert any("'acme/chat'" in w and "'newer'" in w for w in warnings)
