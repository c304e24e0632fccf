"""E2E TIR's model-endpoint API (seeds 000, 001, 004), mounted at /tir by the server.

Routes keep TIR's shapes: `/serving/inference/` with `project_id`, `location` and `active_iam`
in the query string, answers in `{code, data, errors, message}`. Each call is a thin translation
onto the endpoint service; see docs/dialects/tir.md for what every field does here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer

from modelport import __version__
from modelport.api.container import ApiServices
from modelport.api.deps import Services, get_authenticator
from modelport.dialects.tir import operations
from modelport.dialects.tir.envelope import RESPONSES, success
from modelport.dialects.tir.errors import install_error_handlers
from modelport.dialects.tir.frameworks import resolve_framework
from modelport.dialects.tir.schemas import EndpointRequest, UpdateRequest
from modelport.dialects.tir.views import endpoint_data, plans_data
from modelport.domain.errors import InvalidSpec, NotFound
from modelport.domain.ids import MAX_ID
from modelport.services.auth import Authenticator, Principal, single_header
from modelport.settings import Settings

# Declares the scheme in the OpenAPI document; project_principal does the actual check.
_bearer_scheme = HTTPBearer(auto_error=False, description="a Modelport API token")

INFERENCE = "/serving/inference/"
ONE = "/serving/inference/{inference_id}/"

# Ids are bounded like the database's (signed 64-bit): a larger one is a 400, never a 500.
ProjectId = Annotated[int, Query(ge=1, le=MAX_ID, description="the project of your token")]
Location = Annotated[str | None, Query(max_length=100, description="e.g. Delhi")]
ActiveIam = Annotated[
    int | None, Query(ge=0, le=MAX_ID, description="accepted for compatibility; unused")
]
InferenceId = Annotated[int, Path(ge=1, le=MAX_ID, description="the endpoint's id")]


def _caller(request: Request) -> Principal:
    authenticator: Authenticator = get_authenticator(request)
    authorization = single_header(request.headers.getlist("authorization"), "Authorization")
    return authenticator.authenticate(authorization)


def project_principal(
    request: Request, project_id: ProjectId, active_iam: ActiveIam = None
) -> Principal:
    """The caller, who must belong to `project_id` (a token acts in its own project only)."""
    principal = _caller(request)
    if project_id != principal.project_id:
        raise NotFound(
            f"project_id: project {project_id} not found for this token "
            f"(the token belongs to project {principal.project_id})",
            field="project_id",
        )
    return principal


Caller = Annotated[Principal, Depends(project_principal)]


def create_app(services: ApiServices, authenticator: Authenticator, settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Modelport: E2E TIR dialect",
        version=__version__,
        description="TIR's model-endpoint API over Modelport's endpoints.",
        responses=RESPONSES,
        dependencies=[Depends(_bearer_scheme)],
    )
    app.state.services = services
    app.state.authenticator = authenticator
    app.state.settings = settings
    install_error_handlers(app)

    @app.post(INFERENCE, status_code=201)
    def create_endpoint(
        body: EndpointRequest, principal: Caller, services: Services, location: Location = None
    ) -> JSONResponse:
        """Create an endpoint; the same request again answers 200 with the existing one."""
        view, key = operations.create(services, principal, body, location)
        data = endpoint_data(view, services.gateway_base_url)
        if key is None:
            return success(data, "Already exists", 200)
        data["api_key"] = key  # an inference key for this endpoint, shown only this once
        return success(data, "Created Successfully", 201)

    @app.get(INFERENCE)
    def list_endpoints(principal: Caller, services: Services) -> JSONResponse:
        views = services.endpoints.describe_all(principal)
        return success([endpoint_data(v, services.gateway_base_url) for v in views], "Success")

    @app.get(ONE)
    def get_endpoint(
        inference_id: InferenceId, principal: Caller, services: Services
    ) -> JSONResponse:
        endpoint = operations.find(services, principal, inference_id)
        view = services.endpoints.view(endpoint)
        return success(endpoint_data(view, services.gateway_base_url), "Success")

    @app.put(ONE)
    def update_endpoint(
        inference_id: InferenceId,
        body: UpdateRequest,
        principal: Caller,
        services: Services,
        location: Location = None,
    ) -> JSONResponse:
        """Seed 004's actions: patch, restart, stop, start, update_auto_scale,
        update_async_configuration."""
        return success(operations.act(services, principal, inference_id, body, location), "Success")

    @app.delete(ONE)
    def delete_endpoint(
        inference_id: InferenceId, principal: Caller, services: Services, request: Request
    ) -> JSONResponse:
        endpoint = operations.find(services, principal, inference_id)
        services.endpoints.delete(principal, endpoint.name)
        get_authenticator(request).forget()  # its inference keys were revoked
        return success("Model Endpoint deleted successfully", "Deleted Successfully")

    @app.get("/serving/plans/")
    def list_plans(
        request: Request,
        services: Services,
        framework: Annotated[str | None, Query(max_length=100)] = None,
        location: Location = None,
        project_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        active_iam: ActiveIam = None,
    ) -> JSONResponse:
        """Plans in the shape of Terraform's tir_model_endpoint_plans data source."""
        if project_id is not None:
            project_principal(request, project_id)
        else:
            _caller(request)
        if location is not None:
            _check_location(services, location)
        chosen = resolve_framework(framework) if framework else None
        return success(plans_data(services.plans, location, chosen), "Success")

    return app


def _check_location(services: ApiServices, location: str) -> None:
    known = [loc.name for loc in services.plans.locations()]
    if location.strip().lower() not in (name.lower() for name in known):
        raise InvalidSpec(
            f"location: unknown location {location!r}; valid: {', '.join(known)}",
            field="location",
        )
