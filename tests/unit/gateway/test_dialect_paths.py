"""Vendor inference URL parsing and resolution against a route table snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from modelport.domain.errors import NotFound
from modelport.domain.records import Endpoint, Replica, Role
from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import DesiredState
from modelport.gateway.aliases import DEEPINFRA, TENSORMESH
from modelport.gateway.dialect_paths import (
    TIR,
    DialectRequest,
    Kind,
    Operation,
    listed_models,
    parse_dialect_path,
    resolve_by_id,
    resolve_model,
)
from modelport.gateway.routes import RouteTable
from modelport.server.dispatch import is_gateway_path
from modelport.services.auth import Principal

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def scope(path: str, query: bytes = b"", raw_path: bytes | None = None) -> dict[str, Any]:
    return {"path": path, "raw_path": raw_path, "query_string": query}


@pytest.mark.parametrize(
    ("path", "query", "expected"),
    [
        (
            "/tir/project/p-7/endpoint/is-42/v1/chat/completions",
            b"a=1",
            DialectRequest(Kind.BY_ID, TIR, "/v1/chat/completions?a=1", 7, 42),
        ),
        ("/tir/project/p-7/endpoint/is-42", b"", DialectRequest(Kind.BY_ID, TIR, "/", 7, 42)),
        ("/tir/project/p-7/endpoint/is-42/", b"", DialectRequest(Kind.BY_ID, TIR, "/", 7, 42)),
        (
            "/deepinfra/v1/openai/chat/completions",
            b"",
            DialectRequest(
                Kind.MODEL_IN_BODY, DEEPINFRA, "/v1/chat/completions", operation=Operation.CHAT
            ),
        ),
        (
            "/deepinfra/v1/openai/embeddings",
            b"x=y",
            DialectRequest(
                Kind.MODEL_IN_BODY, DEEPINFRA, "/v1/embeddings?x=y", operation=Operation.EMBEDDINGS
            ),
        ),
        (
            "/tensormesh/openai/v1/completions",
            b"",
            DialectRequest(
                Kind.MODEL_IN_BODY, TENSORMESH, "/v1/completions", operation=Operation.COMPLETIONS
            ),
        ),
        (
            "/tensormesh/openai/v1/responses",
            b"",
            DialectRequest(
                Kind.MODEL_IN_BODY, TENSORMESH, "/v1/responses", operation=Operation.RESPONSES
            ),
        ),
        (
            "/tensormesh/openai/tokenize",
            b"",
            DialectRequest(
                Kind.MODEL_IN_BODY, TENSORMESH, "/tokenize", operation=Operation.TOKENIZE
            ),
        ),
        (
            "/tensormesh/openai/detokenize",
            b"",
            DialectRequest(
                Kind.MODEL_IN_BODY, TENSORMESH, "/detokenize", operation=Operation.DETOKENIZE
            ),
        ),
        ("/tensormesh/openai/health", b"", DialectRequest(Kind.HEALTH, TENSORMESH)),
        ("/tensormesh/openai/version", b"", DialectRequest(Kind.VERSION, TENSORMESH)),
        (
            "/deepinfra/v1/inference/meta-llama/Meta-Llama-3-8B-Instruct",
            b"version=1",
            DialectRequest(
                Kind.DEEPINFRA_NATIVE, DEEPINFRA, model="meta-llama/Meta-Llama-3-8B-Instruct"
            ),
        ),
        ("/deepinfra/v1/openai/models", b"", DialectRequest(Kind.MODELS, DEEPINFRA)),
        ("/tensormesh/openai/v1/models", b"", DialectRequest(Kind.MODELS, TENSORMESH)),
        (
            "/deepinfra/v1/openai/models/acme/chat",
            b"",
            DialectRequest(Kind.MODELS, DEEPINFRA, model="acme/chat"),
        ),
    ],
)
def test_parse_vendor_urls(path: str, query: bytes, expected: DialectRequest) -> None:
    assert parse_dialect_path(scope(path, query)) == expected


def test_tir_tail_keeps_its_percent_encoding() -> None:
    raw = b"/tir/project/p-1/endpoint/is-2/files/a%2Fb"
    parsed = parse_dialect_path(scope("/tir/project/p-1/endpoint/is-2/files/a/b", raw_path=raw))
    assert parsed.forward_path == "/files/a%2Fb"


@pytest.mark.parametrize(
    "path",
    [
        "/tir/project/",
        "/tir/project/p-1",
        "/tir/project/p-1/endpoint",
        "/tir/project/p-x/endpoint/is-2/v1",
        "/tir/project/1/endpoint/is-2/v1",
        "/tir/project/p-1/endpoints/is-2/v1",
        "/tir/project/p-1/endpoint/2/v1",
        "/tir/project/p-1/endpoint/is-/v1",
        "/tir/project/p-1/endpoint/is-" + "9" * 40 + "/v1",
        "/deepinfra/v1/openai/chat",
        "/deepinfra/v1/openai/images/generations",
        "/tensormesh/openai/v1/",
        "/tensormesh/openai/v1/models/",
        "/tensormesh/openai/v1/tokenize",  # tokenize is beside /v1, as on vLLM
        "/tensormesh/openai/chat/completions",  # the OpenAI routes are under /v1
        "/tensormesh/openai/",
        "/deepinfra/v1/openai/health",  # only an OpenAI *server* base has these
        "/deepinfra/v1/openai/tokenize",
        "/deepinfra/v1/inference/",  # no model
    ],
)
def test_other_paths_under_the_prefixes_are_not_found(path: str) -> None:
    with pytest.raises(NotFound):
        parse_dialect_path(scope(path))


def test_the_dispatcher_sends_only_inference_urls_to_the_gateway() -> None:
    for path in (
        "/tir/project/p-1/endpoint/is-2/v1/chat/completions",
        "/deepinfra/v1/openai/chat/completions",
        "/deepinfra/v1/openai/models",
        "/tensormesh/openai/v1/embeddings",
    ):
        assert is_gateway_path(path), path
    for path in (
        "/tir/serving/inference/",
        "/tir/projects/1",
        "/deepinfra/deploy/list",
        "/deepinfra/deploy/llm",
        "/tensormesh/v1/models",
        "/tensormesh/openai",
    ):
        assert not is_gateway_path(path), path


def _endpoint(id: int, project_id: int, name: str, extensions: dict[str, Any]) -> Endpoint:
    spec = EndpointSpec(framework=Framework.CUSTOM, command=["serve"], extensions=extensions)
    return Endpoint(
        id=id, project_id=project_id, name=name, spec=spec, generation=1, template_generation=1,
        desired_state=DesiredState.RUNNING, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


class _Source:
    def list_replicas(self) -> Sequence[Replica]:
        return []

    def list_endpoints(self, project_id: int | None = None) -> Sequence[Endpoint]:
        return [
            _endpoint(1, 1, "alpha", {DEEPINFRA: {"model_name": "acme/alpha"}}),
            _endpoint(2, 1, "beta", {DEEPINFRA: {"model_name": "acme/beta"}}),
            _endpoint(3, 2, "other", {DEEPINFRA: {"model_name": "acme/other"}}),
        ]


@pytest.fixture
async def routes() -> RouteTable:
    table = RouteTable()
    await table.refresh(_Source())
    return table


def principal(project_id: int = 1, endpoint_id: int | None = None) -> Principal:
    return Principal(token_id=1, project_id=project_id, role=Role.VIEWER, endpoint_id=endpoint_id)


def tir(project_id: int, endpoint_id: int) -> DialectRequest:
    return DialectRequest(Kind.BY_ID, TIR, "/", project_id, endpoint_id)


def test_tir_resolves_only_in_the_callers_project(routes: RouteTable) -> None:
    assert resolve_by_id(routes, principal(), tir(1, 2)).name == "beta"
    for caller, request in [
        (principal(2), tir(1, 1)),  # someone else's project in the path
        (principal(1), tir(2, 3)),  # the caller's token is not for project 2
        (principal(1), tir(1, 3)),  # endpoint 3 lives in project 2
        (principal(1), tir(1, 99)),  # unknown
        (principal(1, endpoint_id=1), tir(1, 2)),  # a key scoped to another endpoint
    ]:
        with pytest.raises(NotFound) as raised:
            resolve_by_id(routes, caller, request)
        assert raised.value.message == (
            f"no running endpoint is-{request.endpoint_id} in project p-{request.project_id}"
        )


def test_model_resolution_is_scoped_and_names_the_model(routes: RouteTable) -> None:
    assert resolve_model(routes, principal(), DEEPINFRA, "acme/alpha").name == "alpha"
    assert resolve_model(routes, principal(1, 1), DEEPINFRA, "acme/alpha").name == "alpha"
    for caller, model in [
        (principal(1), "acme/other"),
        (principal(1), "acme/nope"),
        (principal(1, endpoint_id=1), "acme/beta"),
    ]:
        with pytest.raises(NotFound) as raised:
            resolve_model(routes, caller, DEEPINFRA, model)
        assert f"'{model}'" in raised.value.message


def test_listing_keeps_to_the_callers_endpoints(routes: RouteTable) -> None:
    assert [m for m, _ in listed_models(routes, principal(), DEEPINFRA)] == [
        "acme/alpha",
        "acme/beta",
    ]
    assert [m for m, _ in listed_models(routes, principal(1, 2), DEEPINFRA)] == ["acme/beta"]
    assert [m for m, _ in listed_models(routes, principal(2), DEEPINFRA)] == ["acme/other"]
