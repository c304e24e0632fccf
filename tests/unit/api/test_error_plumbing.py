"""The error plumbing shared by the native API and the dialects: which renderer answers which
failure, the headers domain errors carry, the last-resort 500 and what it logs."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Receive, Scope, Send

from modelport.api import error_plumbing as plumbing
from modelport.api import errors as native
from modelport.api.app import ApiServices, create_app
from modelport.api.middleware import BodyTooLarge
from modelport.catalog import PlanCatalog
from modelport.dialects.deepinfra import errors as deepinfra
from modelport.dialects.registry import mount_dialects
from modelport.dialects.tensormesh import errors as tensormesh
from modelport.dialects.tir import errors as tir
from modelport.domain.errors import (
    IllegalTransition,
    ModelportError,
    NotFound,
    QuotaExceeded,
    TemporaryError,
    Unauthorized,
)
from modelport.settings import Settings
from tests.unit.services.harness import make_world

SECRET = "tok-do-not-log"


def _answer(status: int, **body: Any) -> JSONResponse:
    return JSONResponse(body, status_code=status)


# A toy envelope: says which renderer answered, and with what.
TOY = plumbing.Envelope(
    domain=lambda exc, kind: _answer(418, by="domain", kind=kind.__name__, message=exc.message),
    validation=lambda errors: _answer(422, by="validation", count=len(errors)),
    http=lambda exc: _answer(exc.status_code, by="http", detail=exc.detail),
    unexpected=lambda: _answer(500, by="unexpected"),
)


class Pair(BaseModel):
    a: int
    b: int


def _toy_app(error: Exception) -> FastAPI:
    app = FastAPI()
    plumbing.install_error_handlers(app, TOY)
    app.add_middleware(plumbing.CatchUnexpected, envelope=TOY)

    @app.post("/raise")
    def raise_it() -> None:
        raise error

    @app.post("/pair")
    def pair(body: Pair) -> None:
        del body

    return app


def _post(app: FastAPI, path: str = "/raise", **kwargs: Any) -> tuple[int, dict[str, Any]]:
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post(path, **kwargs)
    return response.status_code, response.json()


@pytest.mark.parametrize("kind", plumbing.DOMAIN_KINDS)
def test_each_domain_kind_goes_to_the_domain_renderer_with_its_kind(kind: type[ModelportError]):
    answer = _post(_toy_app(_one_of(kind)))
    assert answer == (418, {"by": "domain", "kind": kind.__name__, "message": "x"})


def test_a_subclass_is_its_nearest_kind():
    class Gone(NotFound):
        pass

    assert _post(_toy_app(Gone("gone")))[1]["kind"] == "NotFound"


def test_auth_and_retry_headers_are_added_to_whatever_the_envelope_renders():
    with TestClient(_toy_app(Unauthorized("who?"))) as client:
        assert client.post("/raise").headers["www-authenticate"] == "Bearer"
    with TestClient(_toy_app(TemporaryError("busy", delay=2.5))) as client:
        assert client.post("/raise").headers["retry-after"] == "3"
    with TestClient(_toy_app(TemporaryError("busy", delay=0.01))) as client:
        assert client.post("/raise").headers["retry-after"] == "1"
    with TestClient(_toy_app(QuotaExceeded("over", retry_after=30))) as client:
        assert client.post("/raise").headers["retry-after"] == "30"


def test_a_domain_error_of_no_kind_is_a_logged_bug(caplog: pytest.LogCaptureFixture):
    with caplog.at_level("ERROR"):
        answer = _post(_toy_app(IllegalTransition("READY -> PENDING")))
    assert answer == (500, {"by": "unexpected"})
    assert "unexpected IllegalTransition" in caplog.text


def test_invalid_input_reaches_the_validation_renderer_with_every_error():
    assert _post(_toy_app(RuntimeError()), "/pair", json={"a": "x", "b": "y"}) == (
        422,
        {"by": "validation", "count": 2},
    )


def test_an_http_error_reaches_the_http_renderer():
    answer = _post(_toy_app(StarletteHTTPException(409, "taken")))
    assert answer == (409, {"by": "http", "detail": "taken"})


def test_an_unexpected_error_is_a_500_that_logs_method_and_path_only(
    caplog: pytest.LogCaptureFixture,
):
    with caplog.at_level("ERROR"):
        answer = _post(
            _toy_app(RuntimeError("internal detail")),
            json={"token": SECRET},
            headers={"Authorization": f"Bearer {SECRET}"},
        )
    assert answer == (500, {"by": "unexpected"})
    assert "unhandled error on POST /raise" in caplog.text
    assert "internal detail" in caplog.text  # the traceback...
    assert SECRET not in caplog.text  # ...but neither the body nor the headers


async def _reads_too_much(scope: Scope, receive: Receive, send: Send) -> None:
    raise BodyTooLarge(10)  # as BodySizeLimit's receive raises it


async def _fails_mid_answer(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    raise RuntimeError("half an answer")


def test_an_http_error_raised_outside_a_route_is_rendered_by_the_middleware():
    client = TestClient(plumbing.CatchUnexpected(_reads_too_much, TOY))  # no lifespan
    response = client.post("/x", content=b"abc")
    assert (response.status_code, response.json()["by"]) == (413, "http")


def test_once_the_answer_has_started_the_middleware_can_only_re_raise():
    client = TestClient(plumbing.CatchUnexpected(_fails_mid_answer, TOY))
    with pytest.raises(RuntimeError, match="half an answer"):
        client.get("/x")


async def test_other_scopes_pass_through():
    seen: list[str] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    async def receive() -> dict[str, Any]:
        return {}

    async def send(message: Mapping[str, Any]) -> None:
        del message

    await plumbing.CatchUnexpected(inner, TOY)({"type": "lifespan"}, receive, send)
    assert seen == ["lifespan"]


def test_per_kind_maps_every_kind_in_order_and_requires_each():
    keywords = (
        "not_found conflict invalid_spec forbidden unauthorized permanent temporary quota_exceeded"
    )
    table = plumbing.per_kind(**{name: i for i, name in enumerate(keywords.split(), 1)})
    assert list(table.items()) == list(zip(plumbing.DOMAIN_KINDS, range(1, 9), strict=True))
    with pytest.raises(TypeError):
        plumbing.per_kind(not_found=1)  # type: ignore[call-arg]


def test_validation_helpers():
    broken = [{"type": "json_invalid", "ctx": {"error": "Expecting value"}}]
    assert plumbing.malformed_json(broken) == "body: malformed JSON (Expecting value)"
    assert plumbing.malformed_json([{"type": "json_invalid"}]) == (
        "body: malformed JSON (cannot be parsed)"
    )
    assert plumbing.malformed_json([{"type": "missing"}]) is None

    assert plumbing.without_location(["body", "spec", "replicas"]) == ("spec", "replicas")
    assert plumbing.without_location(["query", "project_id"]) == ("project_id",)
    assert plumbing.without_location(["body"]) == ("body",)
    assert plumbing.without_location(["spec", "replicas"]) == ("spec", "replicas")

    assert plumbing.summary([], "fallback") == "fallback"
    assert plumbing.summary(["a", "b"], "fallback") == "a; b"
    assert plumbing.summary([str(i) for i in range(7)], "") == "0; 1; 2; 3; 4 (and 2 more)"


# Each API's status for each of DOMAIN_KINDS (in that order), as its tests and documents say.
_STATUSES: Sequence[tuple[plumbing.Envelope, Sequence[int]]] = (
    (native.ENVELOPE, (404, 409, 422, 403, 401, 400, 503, 429)),
    (tir.ENVELOPE, (404, 409, 400, 403, 401, 400, 503, 429)),
    (deepinfra.ENVELOPE, (404, 409, 422, 403, 401, 400, 503, 429)),
    (tensormesh.ENVELOPE, (404, 409, 400, 403, 401, 400, 503, 429)),
)


def _one_of(kind: type[ModelportError]) -> ModelportError:
    return TemporaryError("x") if kind is TemporaryError else kind("x")


@pytest.mark.parametrize(("envelope", "statuses"), _STATUSES, ids=["native", "tir", "di", "tm"])
def test_every_api_answers_every_kind_and_hides_bugs(
    envelope: plumbing.Envelope, statuses: Sequence[int]
):
    answers = [envelope.for_domain(_one_of(kind)) for kind in plumbing.DOMAIN_KINDS]
    assert [answer.status_code for answer in answers] == list(statuses)
    bug = envelope.for_domain(IllegalTransition("secret state"))
    assert bug.status_code == 500
    assert "secret state" not in bytes(bug.body).decode()
    assert envelope.unexpected().status_code == 500


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[tuple[FastAPI, TestClient]]:
    world = make_world(tmp_path)
    settings = Settings(home=tmp_path / "home", port=8080)
    services = ApiServices(
        world.endpoints, world.tokens, world.projects, PlanCatalog.load(), "http://gw"
    )
    app = create_app(services, world.authenticator, settings)
    mount_dialects(app, services, world.authenticator, settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield app, client
    world.store.close()


def _boom() -> None:
    raise RuntimeError("internal detail")


@pytest.mark.parametrize(
    ("prefix", "shape"),
    [
        ("", {"error"}),
        ("/tir", {"code", "data", "errors", "message"}),
        ("/deepinfra", {"detail"}),
        ("/tensormesh", {"code", "message", "details"}),
    ],
)
def test_a_bug_in_any_api_is_one_500_in_its_envelope_logged_once(
    mounted: tuple[FastAPI, TestClient],
    caplog: pytest.LogCaptureFixture,
    prefix: str,
    shape: set[str],
):
    app, client = mounted
    target = next((r.app for r in app.routes if getattr(r, "path", None) == prefix), app)
    assert isinstance(target, FastAPI)
    target.add_api_route("/boom", _boom, methods=["POST"])
    with caplog.at_level("ERROR"):
        response = client.post(f"{prefix}/boom", json={"token": SECRET})
    assert response.status_code == 500
    assert set(json.loads(response.text)) == shape
    assert "internal detail" not in response.text
    logged = [r for r in caplog.records if r.getMessage().startswith("unhandled error on")]
    assert [r.getMessage() for r in logged] == [f"unhandled error on POST {prefix}/boom"]
    assert SECRET not in caplog.text
