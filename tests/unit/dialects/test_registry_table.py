"""The dialect table (domain/dialects.py) is the one home of each dialect's name and prefixes:
the registry mounts exactly its dialects, the dispatcher sends exactly its inference bases to
the gateway, the gateway parses every base, and the dialects show URLs built from it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount, Route

from modelport.api.app import ApiServices, create_app
from modelport.api.error_plumbing import Envelope
from modelport.catalog import PlanCatalog
from modelport.dialects.deepinfra import translate as deepinfra
from modelport.dialects.registry import (
    DialectMount,
    dialects,
    management_envelopes,
    mount_dialects,
)
from modelport.dialects.tensormesh import translate as tensormesh
from modelport.dialects.tir import translate as tir
from modelport.domain.dialects import DIALECTS, INFERENCE_BASES, INFERENCE_PREFIXES, Shape
from modelport.domain.errors import NotFound
from modelport.gateway.aliases import DIALECT_NAMES
from modelport.gateway.dialect_paths import Kind, parse_dialect_path
from modelport.server.dispatch import is_gateway_path
from modelport.settings import Settings
from tests.unit.services.harness import make_world

# One URL of each shape, relative to its base, and what the gateway makes of it.
EXAMPLES: dict[Shape, tuple[tuple[str, Kind], ...]] = {
    Shape.BY_ID: (("/p-1/endpoint/is-2/v1/chat/completions", Kind.BY_ID),),
    Shape.OPENAI: (("/chat/completions", Kind.MODEL_IN_BODY), ("/models", Kind.MODELS)),
    Shape.OPENAI_SERVER: (
        ("/v1/chat/completions", Kind.MODEL_IN_BODY),
        ("/v1/models", Kind.MODELS),
        ("/tokenize", Kind.MODEL_IN_BODY),
        ("/health", Kind.HEALTH),
    ),
    Shape.DEEPINFRA_NATIVE: (("/acme/chat", Kind.DEEPINFRA_NATIVE),),
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FastAPI]:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home", port=8080)
    services = ApiServices(
        world.endpoints, world.tokens, world.projects, PlanCatalog.load(), "http://gw"
    )
    app = create_app(services, world.authenticator, settings)
    mount_dialects(app, services, world.authenticator, settings)
    yield app
    world.store.close()


def _paths(routes: list[BaseRoute], prefix: str = "") -> Iterator[str]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _paths(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path


def test_the_server_mounts_exactly_the_tables_dialects(api: FastAPI) -> None:
    mounted = [route.path for route in api.router.routes if isinstance(route, DialectMount)]
    assert mounted == [home.management_prefix for home in DIALECTS]
    assert [d.home for d in dialects()] == list(DIALECTS)
    # Edge refusals (408, 431, ...) come in the envelope of the dialect the path is under.
    envelopes = management_envelopes()
    assert [prefix for prefix, _ in envelopes] == [d.management_prefix + "/" for d in DIALECTS]
    assert all(isinstance(envelope, Envelope) for _, envelope in envelopes)


def test_no_management_route_lies_under_an_inference_base(api: FastAPI) -> None:
    """The dispatcher sends inference bases to the gateway: a management route there would be
    unreachable."""
    prefixes = tuple(home.management_prefix + "/" for home in DIALECTS)
    paths = [path for path in _paths(api.router.routes) if path.startswith(prefixes)]
    assert len(paths) > 20  # the walk sees into the mounts
    for path in paths:
        assert not path.startswith(INFERENCE_PREFIXES), path
        assert not is_gateway_path(path), path


def test_dispatch_and_gateway_read_the_same_bases() -> None:
    for dialect, base in INFERENCE_BASES:
        for tail, kind in EXAMPLES[base.shape]:
            path = base.path + tail
            assert is_gateway_path(path), path
            parsed = parse_dialect_path({"path": path, "raw_path": None, "query_string": b""})
            assert (parsed.kind, parsed.dialect) == (kind, dialect.name), path
    for home in DIALECTS:
        # The rest of the management prefix is the management API's.
        assert not is_gateway_path(home.management_prefix + "/v1/models")
        assert not is_gateway_path(home.management_prefix)


def test_a_shape_is_served_only_under_its_own_bases() -> None:
    """DeepInfra's OpenAI base has no /tokenize; the TIR prefix takes no model-in-body call."""
    for _dialect, base in INFERENCE_BASES:
        for shape, examples in EXAMPLES.items():
            if shape is base.shape:
                continue
            for tail, _kind in examples:
                if shape is Shape.OPENAI and base.shape is Shape.OPENAI_SERVER:
                    continue  # its /v1/... holds the OpenAI layout
                path = base.path + tail
                scope = {"path": path, "raw_path": None, "query_string": b""}
                if base.shape is Shape.DEEPINFRA_NATIVE:  # any tail names a model there
                    assert parse_dialect_path(scope).kind is Kind.DEEPINFRA_NATIVE
                    continue
                with pytest.raises(NotFound):
                    parse_dialect_path(scope)


def test_dialects_name_themselves_from_the_table() -> None:
    by_name = {home.name: home for home in DIALECTS}
    assert {tir.EXTENSION, deepinfra.EXTENSION, tensormesh.EXTENSION} == set(by_name)
    assert set(DIALECT_NAMES) <= set(by_name)  # model-name aliases exist only for dialects
    # The URL Tensormesh's API gives clients is the base its inference client takes.
    assert by_name["tensormesh"].base(Shape.OPENAI_SERVER) == tensormesh.INFERENCE_BASE
    with pytest.raises(LookupError):
        by_name["tir"].base(Shape.OPENAI)
