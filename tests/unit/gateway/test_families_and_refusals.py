"""A request's URL family is decided once (gateway/families.py) and every refusal is answered
from one table (gateway/refusals.py), in the OpenAI error shape."""

from __future__ import annotations

import json

import pytest

from modelport.domain.errors import NotFound, Unauthorized
from modelport.gateway.families import FAMILY_KEY, Family, classify, family_of
from modelport.gateway.incoming import BadRequest, BodyTooLarge, ClientGone, MethodNotAllowed
from modelport.gateway.metrics import CLIENT_CLOSED
from modelport.gateway.refusals import REFUSED, TABLE, refuse


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/v1/chat/completions", Family.MODEL_IN_BODY),
        ("/v1/embeddings", Family.MODEL_IN_BODY),
        ("/v1/models", Family.MODELS),
        ("/v1/models/web", Family.MODELS),
        ("/v1/modelsx", Family.UNROUTED),
        ("/v1/nothing", Family.UNROUTED),
        ("/endpoints/web/v1/chat/completions", Family.BY_NAME),
        ("/tir/project/p-1/endpoint/is-2/v1/chat/completions", Family.DIALECT),
        ("/deepinfra/v1/openai/chat/completions", Family.DIALECT),
        ("/deepinfra/v1/inference/some-model", Family.DIALECT),
        ("/tensormesh/openai/health", Family.DIALECT),
        ("/metrics", Family.METRICS),
        ("/api/v1/endpoints", None),  # the management API
        ("/tir/teams/1/projects/2/serving/inference", None),  # a dialect's management API
        ("/v1", None),
        ("/healthz", None),
    ],
)
def test_each_path_has_one_family(path: str, family: Family | None) -> None:
    assert classify(path) is family


def test_a_family_found_by_the_server_is_not_looked_for_again() -> None:
    assert family_of({"path": "/v1/models", FAMILY_KEY: Family.BY_NAME}) is Family.BY_NAME
    assert family_of({"path": "/v1/models"}) is Family.MODELS


class Recorder:
    """A ClientSide that keeps the one answer."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.body: dict[str, dict[str, str]] = {}

    async def read_body(self, declared: int | None, limit: int) -> bytes:
        return b""

    def watch(self, upstream: object) -> None:
        pass

    async def respond(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        self.status, self.body = status, json.loads(body)

    async def start(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        raise AssertionError("a refusal is answered whole")

    async def send(self, chunk: bytes) -> None:
        raise AssertionError("a refusal is answered whole")

    async def end(self) -> None:
        raise AssertionError("a refusal is answered whole")


@pytest.mark.parametrize(
    ("exc", "status", "error_type", "code"),
    [
        (Unauthorized("bad token"), 401, "authentication_error", "invalid_api_key"),
        (NotFound("no endpoint 'x'"), 404, "invalid_request_error", "not_found"),
        (MethodNotAllowed("/v1/chat/completions takes POST"), 405, "invalid_request_error",
         "method_not_allowed"),
        (BadRequest("'model' is required", "model_required"), 400, "invalid_request_error",
         "model_required"),
        (BodyTooLarge(), 413, "invalid_request_error", "request_too_large"),
    ],
)  # fmt: skip
async def test_each_refusal_is_answered_from_the_table(
    exc: Exception, status: int, error_type: str, code: str
) -> None:
    client = Recorder()
    assert await refuse(client, exc, "req-1", max_body=1024) == status
    assert client.status == status
    error = client.body["error"]
    assert (error["type"], error["code"]) == (error_type, code)
    expected = "larger than 1024 bytes" if isinstance(exc, BodyTooLarge) else str(exc)
    assert expected in error["message"]


async def test_a_client_that_left_gets_no_answer() -> None:
    client = Recorder()
    assert await refuse(client, ClientGone(), "req-1", max_body=1024) == CLIENT_CLOSED
    assert client.status is None


def test_every_table_row_is_caught_around_routing() -> None:
    assert all(kind in REFUSED for kind, _ in TABLE)
    # MethodNotAllowed is a BadRequest: its row comes first or it would answer 400.
    kinds = [kind for kind, _ in TABLE]
    assert kinds.index(MethodNotAllowed) < kinds.index(BadRequest)
