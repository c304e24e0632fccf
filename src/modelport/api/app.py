"""The native management API (/api/v1) as a FastAPI app; the server mounts it."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response

from modelport import __version__
from modelport.api.container import ApiServices
from modelport.api.errors import ERROR_RESPONSES, install_error_handlers
from modelport.api.middleware import BodyLimits, CatchUnexpected
from modelport.api.routes import (
    autoscale,
    catalog,
    datasets,
    endpoints,
    integrations,
    invocations,
    models,
    projects,
    tokens,
    usage,
)
from modelport.api.schemas import Health
from modelport.services.auth import Authenticator
from modelport.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["API_PREFIX", "ApiServices", "create_app"]

API_PREFIX = "/api/v1"


def create_app(services: ApiServices, authenticator: Authenticator, settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Modelport API",
        version=__version__,
        description="Manage inference endpoints, tokens and projects.",
    )
    app.state.services = services
    app.state.authenticator = authenticator
    install_error_handlers(app)
    # Added last = outermost: the size limit sees the request before anything else.
    app.add_middleware(CatchUnexpected)
    app.add_middleware(
        BodyLimits, max_bytes=settings.max_body_bytes, max_json_depth=settings.max_json_depth
    )

    api = APIRouter(prefix=API_PREFIX, responses=ERROR_RESPONSES)
    api.include_router(endpoints.router)
    api.include_router(autoscale.router)
    api.include_router(tokens.router)
    api.include_router(projects.router)
    api.include_router(datasets.router)
    api.include_router(invocations.router)
    api.include_router(integrations.router)
    api.include_router(models.router)
    api.include_router(catalog.router)
    api.include_router(usage.router)
    app.include_router(api)

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """Liveness of the API process; needs no token."""
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Health,
        tags=["health"],
        responses={503: {"model": Health, "description": "the database does not answer"}},
    )
    def readyz() -> Response:
        """Readiness for a load balancer: the process serves AND its database answers (a
        server cut off from a shared PostgreSQL must leave the pool); needs no token."""
        try:
            if services.readiness is not None:
                services.readiness()
        except Exception:
            log.warning("readiness: the database did not answer", exc_info=True)
            body = Health(status="unavailable: the database does not answer")
            return JSONResponse(body.model_dump(), status_code=503)
        return JSONResponse(Health(status="ok").model_dump())

    return app
