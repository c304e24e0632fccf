"""Domain errors map to HTTP statuses and headers in one place."""

from __future__ import annotations

import json

import pytest

from modelport.api.errors import domain_error_response
from modelport.domain.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidSpec,
    ModelportError,
    NotFound,
    PermanentError,
    TemporaryError,
    Unauthorized,
)
from tests.unit.api.conftest import Api


@pytest.mark.parametrize(
    ("error", "status", "type_"),
    [
        (NotFound("endpoint 'x' not found"), 404, "not_found"),
        (Conflict("taken", field="name"), 409, "conflict"),
        (InvalidSpec("spec.replicas: bad", field="spec.replicas"), 422, "invalid_request"),
        (Forbidden("viewer"), 403, "forbidden"),
        (Unauthorized("no token"), 401, "unauthorized"),
        (PermanentError("model file missing"), 400, "bad_request"),
        (TemporaryError("busy", delay=2.5), 503, "unavailable"),
        (IllegalTransition("a bug"), 500, "internal_error"),
    ],
)
def test_domain_errors_map_to_statuses(error: ModelportError, status: int, type_: str):
    resp = domain_error_response(error)
    body = json.loads(bytes(resp.body))["error"]
    assert (resp.status_code, body["type"]) == (status, type_)
    if status == 500:
        assert "a bug" not in body["message"]
    else:
        assert (body["message"], body["field"]) == (error.message, error.field)


def test_retry_and_auth_headers():
    assert domain_error_response(TemporaryError("busy", delay=2.5)).headers["retry-after"] == "3"
    assert domain_error_response(Unauthorized("x")).headers["www-authenticate"] == "Bearer"


def test_the_openapi_document_lists_every_route(api: Api):
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/endpoints",
        "/api/v1/endpoints/{name}",
        "/api/v1/endpoints/{name}/restart",
        "/api/v1/endpoints/{name}/logs",
        "/api/v1/tokens/{token_id}",
        "/api/v1/projects",
        "/api/v1/whoami",
        "/healthz",
    ):
        assert path in paths
