"""Tensormesh calls about its cloud account: a self-hosted server has none of these, so each is
answered with a 404 (NOT_FOUND, as for a path the server lacks) saying so and what to use
instead. One row per area; docs/dialects/tensormesh.md lists the same."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter

from modelport.dialects.tensormesh.errors import RpcCode, TensormeshError

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


@dataclass(frozen=True, slots=True)
class Area:
    prefix: str  # every path at or under it
    what: str
    instead: str


AREAS: tuple[Area, ...] = (
    Area(
        "/auth/cli",
        "browser sign-in (`tm auth login`, `tm auth refresh`)",
        'write a Modelport token to $TM_CONFIG_HOME/auth.json as {"access_token": "<token>"}',
    ),
    Area("/v1/billing", "billing", "a self-hosted server bills nothing"),
    Area("/v1/admin/billing", "billing administration", "a self-hosted server bills nothing"),
    Area("/v1/products", "products", "deploy your own models with POST /v1/models"),
    Area("/v1/admin/products", "products", "deploy your own models with POST /v1/models"),
    Area(
        "/v1/admin/users",
        "user administration",
        "projects and tokens: `modelport projects`, `modelport token`",
    ),
    Area(
        "/v1/users",
        "user accounts (terms of service, profile changes, API keys)",
        "tokens: `modelport token create`; who you are: GET /auth/profile",
    ),
    Area("/v1/support", "support tickets and reserved deployments", "ask your server's operator"),
    Area(
        "/v1/activities",
        "account activity",
        "a model's `events`, or `modelport events <deploymentId>`",
    ),
    Area(
        "/v1/observability/users",
        "account usage metrics",
        "the gateway's Prometheus metrics at /metrics",
    ),
)


def _answer(area: Area) -> TensormeshError:
    return TensormeshError(
        RpcCode.NOT_FOUND,
        f"{area.what}: not applicable to a self-hosted Modelport server ({area.instead}); "
        "see docs/dialects/tensormesh.md",
    )


def _refuser(area: Area) -> Callable[[], None]:
    def refuse() -> None:
        raise _answer(area)

    return refuse


def router() -> APIRouter:
    """Routes for every area (not in the OpenAPI document: they are not part of the API)."""
    routes = APIRouter(include_in_schema=False)
    for area in AREAS:
        for path in (area.prefix, area.prefix + "/{rest:path}"):
            routes.add_api_route(path, _refuser(area), methods=METHODS)
    return routes
