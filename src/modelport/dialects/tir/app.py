"""E2E TIR's model-endpoint API (seeds 000, 001, 004), mounted at /tir by the server.

Routes keep TIR's shapes, answers are `{code, data, errors, message}`. One table of endpoint
routes is served under two prefixes that differ only in where the project comes from:
`/serving/...?project_id=` (TIR's REST API and Terraform provider) and
`/api/v1/gpu/teams/{team}/projects/{project}/serving/...` (the e2enetworks SDK). Each call is a
thin translation onto the endpoint service; see docs/dialects/tir.md for every field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer

from modelport import __version__
from modelport.api.container import ApiServices
from modelport.api.deps import Services, get_authenticator
from modelport.dialects import listing
from modelport.dialects.tir import async_views, endpoint_list, go_provider, operations
from modelport.dialects.tir.envelope import RESPONSES, failure, success
from modelport.dialects.tir.errors import install_error_handlers
from modelport.dialects.tir.frameworks import resolve_framework
from modelport.dialects.tir.replicas import logs_data, replica_id, replicas_data
from modelport.dialects.tir.schemas import DateFilter, EndpointRequest, UpdateRequest
from modelport.dialects.tir.views import endpoint_data, plans_data
from modelport.domain.errors import InvalidSpec, ModelportError, NotFound
from modelport.domain.ids import MAX_ID
from modelport.services.auth import Authenticator, Principal, single_header
from modelport.settings import Settings

# Declares the scheme in the OpenAPI document; the project dependencies do the actual check.
_bearer_scheme = HTTPBearer(auto_error=False, description="a Modelport API token")

# Where a route's project comes from: the query string (TIR's REST API, Terraform) or the path
# (the e2enetworks SDK, whose team has no meaning here).
QUERY_PROJECT = ""
PATH_PROJECT = "/api/v1/gpu/teams/{team}/projects/{project}"
# TIR's Terraform provider calls {api_endpoint}/teams/.../serving/inference/ and
# {api_endpoint}/gpu_service/sku/; its api_endpoint here is http://HOST:8080/tir/terraform.
TERRAFORM = "/terraform"
TERRAFORM_PROJECT = TERRAFORM + "/teams/{team}/projects/{project}"
INFERENCE = "/serving/inference/"
ONE = "/serving/inference/{inference_id}/"
SKUS = "/api/v1/gpu/gpu_service/sku/"
INFERENCE_SERVICE = "inference_service"  # the only `service` whose plans exist here

# Ids are bounded like the database's (signed 64-bit): a larger one is a 400, never a 500.
ProjectId = Annotated[int, Query(ge=1, le=MAX_ID, description="the project of your token")]
ProjectInPath = Annotated[int, Path(ge=1, le=MAX_ID, description="the project of your token")]
Team = Annotated[str, Path(max_length=100, description="accepted; Modelport has no teams")]
Location = Annotated[str | None, Query(max_length=100, description="e.g. Delhi")]
ActiveIam = Annotated[
    int | None, Query(ge=0, le=MAX_ID, description="accepted for compatibility; unused")
]
ApiKey = Annotated[
    str | None,
    Query(max_length=500, description="the e2enetworks SDK's api_key; accepted and unused"),
]
InferenceId = Annotated[int, Path(ge=1, le=MAX_ID, description="the endpoint's id")]
ReplicaName = Annotated[
    str, Path(max_length=100, description="a name from GET .../replicas/, is-{id}-replica-{n}")
]
FrameworkQuery = Annotated[str | None, Query(max_length=100)]


def _caller(request: Request) -> Principal:
    authenticator: Authenticator = get_authenticator(request)
    authorization = single_header(request.headers.getlist("authorization"), "Authorization")
    return authenticator.authenticate(authorization)


def _in_project(request: Request, project_id: int, field: str) -> Principal:
    """The caller, who must belong to the project named (a token acts in its own project)."""
    principal = _caller(request)
    if project_id != principal.project_id:
        raise NotFound(
            f"{field}: project {project_id} not found for this token "
            f"(the token belongs to project {principal.project_id})",
            field=field,
        )
    return principal


def project_principal(
    request: Request, project_id: ProjectId, active_iam: ActiveIam = None
) -> Principal:
    return _in_project(request, project_id, "project_id")


def _query_project(
    request: Request, project_id: ProjectId, active_iam: ActiveIam = None, apikey: ApiKey = None
) -> None:
    request.state.tir_principal = _in_project(request, project_id, "project_id")


def _path_project(
    request: Request, team: Team, project: ProjectInPath, apikey: ApiKey = None
) -> None:
    request.state.tir_principal = _in_project(request, project, "project")


def _terraform_project(
    request: Request, team: Team, project: ProjectInPath, apikey: ApiKey = None
) -> None:
    """TIR's Go Terraform provider: the SDK's path, answers in the Go schema's shapes."""
    _path_project(request, team, project, apikey)
    request.state.tir_answer = go_provider.for_go_provider


def _principal(request: Request) -> Principal:
    """The caller found by the route's prefix dependency (it runs before the handler's).
    Unset only when the prefix's own parameters were invalid: FastAPI then answers with their
    validation error and never calls the handler, so the None never reaches one."""
    return cast(Principal, getattr(request.state, "tir_principal", None))


Caller = Annotated[Principal, Depends(_principal)]

EndpointData = dict[str, Any]


def _as_is(data: EndpointData) -> EndpointData:
    return data


def _answer_shape(request: Request) -> Callable[[EndpointData], EndpointData]:
    """How the route's prefix answers an endpoint (set by its dependency, which runs first)."""
    shape: Callable[[EndpointData], EndpointData] = getattr(request.state, "tir_answer", _as_is)
    return shape


AnswerShape = Annotated[Callable[[EndpointData], EndpointData], Depends(_answer_shape)]


# --- the endpoint routes, one handler each, served under both prefixes ------------------------


def create_endpoint(
    body: EndpointRequest,
    principal: Caller,
    services: Services,
    shape: AnswerShape,
    location: Location = None,
) -> JSONResponse:
    """Create an endpoint; the same request again answers 200 with the existing one."""
    view, key = operations.create(services, principal, body, location)
    data = shape(endpoint_data(view, services.gateway_base_url))
    if key is None:
        return success(data, "Already exists", 200)
    data["api_key"] = key  # an inference key for this endpoint, shown only this once
    return success(data, "Created Successfully", 201)


def list_endpoints(
    principal: Caller,
    services: Services,
    shape: AnswerShape,
    page_no: Annotated[int | None, Query(ge=1, le=listing.MAX_PAGE_NUMBER)] = None,
    per_page: Annotated[int | None, Query(ge=1, le=listing.MAX_PAGE)] = None,
) -> JSONResponse:
    """A page of the project's endpoints, oldest first; none named: all of them (the SDK's
    list() names none) (dialects/tir/endpoint_list.py)."""
    return endpoint_list.endpoint_page(services, principal, shape, page_no, per_page)


def get_endpoint(
    inference_id: InferenceId, principal: Caller, services: Services, shape: AnswerShape
) -> JSONResponse:
    endpoint = operations.find(services, principal, inference_id)
    view = services.endpoints.view(endpoint)
    return success(shape(endpoint_data(view, services.gateway_base_url)), "Success")


def update_endpoint(
    inference_id: InferenceId,
    body: UpdateRequest,
    principal: Caller,
    services: Services,
    location: Location = None,
) -> JSONResponse:
    """Seed 004's actions (patch, restart, stop, start, update_auto_scale,
    update_async_configuration) and the SDK's disable_auto_scale."""
    return success(operations.act(services, principal, inference_id, body, location), "Success")


def delete_endpoint(
    inference_id: InferenceId, principal: Caller, services: Services, request: Request
) -> JSONResponse:
    endpoint = operations.find(services, principal, inference_id)
    services.endpoints.delete(principal, endpoint.name)
    get_authenticator(request).forget()  # its inference keys were revoked
    return success("Model Endpoint deleted successfully", "Deleted Successfully")


def endpoint_logs(inference_id: InferenceId, principal: Caller, services: Services) -> JSONResponse:
    """The tail of each launched replica's log."""
    endpoint = operations.find(services, principal, inference_id)
    logs = services.endpoints.logs(principal, endpoint.name)
    return success(logs_data(inference_id, logs), "Success")


def list_replicas(inference_id: InferenceId, principal: Caller, services: Services) -> JSONResponse:
    endpoint = operations.find(services, principal, inference_id)
    replicas = services.endpoints.replicas(principal, endpoint.name)
    return success(replicas_data(inference_id, replicas), "Success")


def restart_replica(
    inference_id: InferenceId, replica_name: ReplicaName, principal: Caller, services: Services
) -> JSONResponse:
    """A fresh replica takes this one's place; the others keep serving meanwhile."""
    principal.require_mutate()
    endpoint = operations.find(services, principal, inference_id)
    wanted = replica_id(inference_id, replica_name)
    try:
        services.endpoints.restart_replica(principal, endpoint.name, wanted)
    except ModelportError as exc:
        if exc.field == "replica":
            exc.field = "replica_name"  # TIR names the replica in the path
        raise
    return success(f"Replica {replica_name} restarted successfully", "Success")


def async_status(
    inference_id: InferenceId,
    principal: Caller,
    services: Services,
    request_id: Annotated[str | None, Query(max_length=200)] = None,
    date_filter: DateFilter | None = None,
    page_no: Annotated[int, Query(ge=1, le=listing.MAX_PAGE_NUMBER)] = 1,
    per_page: Annotated[int, Query(ge=1, le=1000)] = 10,
    queue_name: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Async invocation requests (dialects/tir/async_views.py): with `request_id` that one
    (a 404 naming it when this endpoint has none such), else a page, newest first."""
    query = async_views.AsyncQuery(page_no, per_page, date_filter, queue_name)
    data = operations.async_status(services, principal, inference_id, request_id, query)
    return success(data, "Success")


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    path: str
    handler: Callable[..., JSONResponse]
    status: int = 200


ENDPOINT_ROUTES = (
    _Route("POST", INFERENCE, create_endpoint, 201),
    _Route("GET", INFERENCE, list_endpoints),
    _Route("GET", ONE, get_endpoint),
    _Route("PUT", ONE, update_endpoint),
    _Route("DELETE", ONE, delete_endpoint),
    _Route("GET", ONE + "logs/", endpoint_logs),
    _Route("GET", ONE + "replicas/", list_replicas),
    _Route("DELETE", ONE + "replicas/{replica_name}/", restart_replica),
    _Route("GET", ONE + "async_status/", async_status),
)
PREFIXES: tuple[tuple[str, Callable[..., None]], ...] = (
    (QUERY_PROJECT, _query_project),
    (PATH_PROJECT, _path_project),
    (TERRAFORM_PROJECT, _terraform_project),
)

# Calls the e2enetworks SDK makes about E2E's cloud account rather than model endpoints
# (docs/dialects/tir.md, "Not applicable"): a 404 in TIR's envelope saying so.
NOT_APPLICABLE = {
    "container_registry": "E2E's container registry is not part of a self-hosted Modelport "
    "server: name an image your hosts can pull in container_name",
    "integrations": "E2E's integrations are not part of a self-hosted Modelport server: give "
    "tokens (e.g. HF_TOKEN) as env variables; they are kept secret",
    "datasets": "E2E's datasets (object storage) are not part of a self-hosted Modelport server",
    "dashboard": "E2E's project dashboard is not part of a self-hosted Modelport server: use "
    "e2enetworks.cloud.tir.init(...) rather than load_config(...)",
}


def _not_applicable(feature: str, message: str) -> Callable[..., JSONResponse]:
    def answer(request: Request, team: Team, project: ProjectInPath) -> JSONResponse:
        _in_project(request, project, "project")
        text = f"{feature}: {message}"
        return failure(404, text, {feature: [text]})

    return answer


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

    for prefix, find_project in PREFIXES:
        router = APIRouter(dependencies=[Depends(find_project)])
        for route in ENDPOINT_ROUTES:
            router.add_api_route(
                route.path, route.handler, methods=[route.method], status_code=route.status
            )
        app.include_router(router, prefix=prefix)
    for feature, message in NOT_APPLICABLE.items():
        app.add_api_route(
            f"{PATH_PROJECT}/{feature}/{{rest:path}}",
            _not_applicable(feature, message),
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            include_in_schema=False,
        )

    @app.get("/serving/plans/")
    def list_plans(
        request: Request,
        services: Services,
        framework: FrameworkQuery = None,
        location: Location = None,
        project_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        active_iam: ActiveIam = None,
    ) -> JSONResponse:
        """Plans in the shape of Terraform's tir_model_endpoint_plans data source."""
        if project_id is not None:
            project_principal(request, project_id)
        else:
            _caller(request)
        return success(_plans(services, framework, location), "Success")

    @app.get(SKUS)
    @app.get(TERRAFORM + "/gpu_service/sku/")
    def list_skus(
        request: Request,
        services: Services,
        service: Annotated[str, Query(max_length=100)] = INFERENCE_SERVICE,
        framework: FrameworkQuery = None,
        location: Location = None,
        apikey: ApiKey = None,
    ) -> JSONResponse:
        """The same plans, as the e2enetworks SDK lists them (Plans().list)."""
        _caller(request)
        if service != INFERENCE_SERVICE:
            raise InvalidSpec(
                f"service: only {INFERENCE_SERVICE!r} plans exist on this server ({service!r} "
                "is an E2E cloud service, not part of a self-hosted Modelport server)",
                field="service",
            )
        return success(_plans(services, framework, location), "Success")

    return app


def _plans(services: ApiServices, framework: str | None, location: str | None) -> Any:
    if location is not None:
        known = [loc.name for loc in services.plans.locations()]
        if location.strip().lower() not in (name.lower() for name in known):
            raise InvalidSpec(
                f"location: unknown location {location!r}; valid: {', '.join(known)}",
                field="location",
            )
    chosen = resolve_framework(framework) if framework else None
    return plans_data(services.plans, location, chosen)
