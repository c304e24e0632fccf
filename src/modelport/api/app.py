"""The native management API (/api/v1) as a FastAPI app; the server mounts it."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from modelport import __version__
from modelport.api.container import ApiServices
from modelport.api.errors import ERROR_RESPONSES, install_error_handlers
from modelport.api.middleware import BodyLimits, CatchUnexpected
from modelport.api.routes import (
    autoscale,
    datasets,
    endpoints,
    integrations,
    invocations,
    models,
    projects,
    tokens,
)
from modelport.api.schemas import Health
from modelport.services.auth import Authenticator
from modelport.settings import Settings

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
    app.include_router(api)

    @app.get("/healthz", response_model=Health, tags=["health"])
    def healthz() -> Health:
        """Liveness of the API process; needs no token."""
        return Health(status="ok")

    return app
