"""Tensormesh's control plane API (seed 003 and the calls of the `tensormesh` SDK and its `tm`
CLI about models), mounted by the server at `/tensormesh`.

    POST   /tensormesh/v1/models                       deploy a model (its key in this reply only)
    GET    /tensormesh/v1/models[?userId=&page=&size=] list models, a page at a time
    GET    /tensormesh/v1/models/{modelId}             one model
    DELETE /tensormesh/v1/models/{modelId}             delete it (answers `{}`)
    POST   /tensormesh/v1/models:validate              could this modelName be deployed
    POST   /tensormesh/v1/models:search-by-infra       models by their infra
    POST   /tensormesh/v1/models/check                 memory a deployed model needs
    POST   /tensormesh/v1/models/{modelId}:chat        one chat, through the gateway
    GET    /tensormesh/v1/admin/models                 the project's models, paged (admin token)
    DELETE /tensormesh/v1/admin/models/{modelId}       delete one (admin token)
    GET    /tensormesh/auth/profile                    who the token is (`tm auth whoami`)
    GET    /tensormesh/v1/observability/deployments/{deploymentId}/logs|metrics

Inference is the gateway's: `{gateway}/tensormesh/openai/v1/...` with `model` = modelName and
the model's apiKey (or any token of the project) as Bearer token. Cloud-account calls (billing,
support, sign-in, ...) answer 404 saying they do not apply (not_applicable.py).
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from modelport import __version__
from modelport.api.container import ApiServices
from modelport.api.deps import CurrentPrincipal, Services
from modelport.dialects.listing import DEFAULT_PAGE, MAX_PAGE
from modelport.dialects.tensormesh import not_applicable
from modelport.dialects.tensormesh.chat import chat
from modelport.dialects.tensormesh.errors import (
    RpcCode,
    TensormeshError,
    install_error_handlers,
)
from modelport.dialects.tensormesh.model_list import ModelFilter, window
from modelport.dialects.tensormesh.observability import deployment_logs
from modelport.dialects.tensormesh.operations import Models
from modelport.dialects.tensormesh.profile import profile
from modelport.dialects.tensormesh.schemas import (
    DeployModelRequest,
    Empty,
    ListModelsResponse,
    LogsResponse,
    MetricsResponse,
    ModelChatRequest,
    ModelChatResponse,
    ModelCheckRequest,
    ModelCheckResult,
    ModelResponse,
    ModelsPage,
    ProfileResponse,
    RpcStatus,
    SearchByInfraRequest,
    ValidateModelNameRequest,
    ValidationResult,
)
from modelport.dialects.tensormesh.translate import INFERENCE_BASE
from modelport.services.auth import Authenticator
from modelport.settings import Settings

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": RpcStatus} for status in (400, 401, 403, 404, 409, 413, 429, 500)
}


def _models(request: Request) -> Models:
    return cast(Models, request.app.state.models)


Caller = CurrentPrincipal  # the native API's: same Bearer scheme, same Authenticator
ModelsDep = Annotated[Models, Depends(_models)]
ModelId = Annotated[str, PathParam(alias="modelId")]
DeploymentId = Annotated[str, PathParam(alias="deploymentId")]
UserId = Annotated[str, Query(alias="userId")]  # accepted; access is by token, not userId
router = APIRouter(prefix="/v1")


@router.post("/models", response_model=ModelResponse)
def deploy_model(
    caller: Caller, models: ModelsDep, body: Annotated[DeployModelRequest, Body()]
) -> ModelResponse:
    """Deploy a model. `apiKey` (yours, or a minted one) is in this response only."""
    return ModelResponse(model=models.deploy(caller, body))


Page = Annotated[int, Query(description="the page, from 1")]
Size = Annotated[int, Query(description=f"models per page, at most {MAX_PAGE} (0: {DEFAULT_PAGE})")]


@router.get("/models", response_model=ListModelsResponse)
def list_models(
    caller: Caller,
    models: ModelsDep,
    user_id: UserId = "",
    page: Page | None = None,
    size: Size | None = None,
) -> ListModelsResponse:
    """The caller's models (an apiKey sees only its own), optionally of one userId: all of
    them, or the page named (a page shorter than `size` is the last)."""
    shown, _ = models.listing(caller, ModelFilter.of(user_id), window(page, size))
    return ListModelsResponse(models=shown)


@router.post("/models:validate", response_model=ValidationResult)
def validate_model_name(
    caller: Caller, models: ModelsDep, body: Annotated[ValidateModelNameRequest, Body()]
) -> ValidationResult:
    """`isValid`: the modelName is well formed and no model of the project has it."""
    return ValidationResult(is_valid=models.validate_name(caller, body))


@router.post("/models:search-by-infra", response_model=ListModelsResponse)
def search_models_by_infra(
    caller: Caller,
    models: ModelsDep,
    body: Annotated[SearchByInfraRequest, Body()],
    page: Page | None = None,
    size: Size | None = None,
) -> ListModelsResponse:
    """The models whose infra has every field set in the query (empty infra: all); all of
    them, or the page named."""
    return ListModelsResponse(models=models.search_by_infra(caller, body, window(page, size)))


@router.post("/models:{verb}", include_in_schema=False)
def unknown_collection_method(verb: str) -> None:
    raise TensormeshError(RpcCode.NOT_FOUND, f"models:{verb}: no such method")


@router.post("/models/check", response_model=ModelCheckResult)
def check_model(
    caller: Caller, models: ModelsDep, body: Annotated[ModelCheckRequest, Body()]
) -> ModelCheckResult:
    """The memory a deployed model needs: its weights on disk, and its KV offloading buffer."""
    return models.check(caller, body)


@router.get("/models/{modelId}", response_model=ModelResponse)
def get_model(
    caller: Caller, models: ModelsDep, model_id: ModelId, user_id: UserId = ""
) -> ModelResponse:
    del user_id
    return ModelResponse(model=models.get(caller, model_id))


@router.delete("/models/{modelId}", response_model=Empty)
def delete_model(
    caller: Caller, models: ModelsDep, model_id: ModelId, user_id: UserId = ""
) -> Empty:
    """Tear the model down (`{}`); it shows MODEL_STATUS_DELETING until it is gone."""
    del user_id
    models.delete(caller, model_id)
    return Empty()


@router.post("/models/{modelId}:chat", response_model=ModelChatResponse)
async def chat_with_model(
    request: Request,
    caller: Caller,
    services: Services,
    models: ModelsDep,
    model_id: ModelId,
    body: Annotated[ModelChatRequest, Body()],
) -> ModelChatResponse:
    """Send `body` to the model's deployment through the gateway, with the caller's token."""
    name = await run_in_threadpool(models.chat_model_name, caller, model_id)
    base = f"{services.gateway_base_url.rstrip('/')}{INFERENCE_BASE}"
    authorization = request.headers.get("authorization", "")
    return ModelChatResponse(response=await chat(base, authorization, name, body.body))


@router.post("/models/{target}", include_in_schema=False)
def unknown_model_method(target: str) -> None:
    model_id, colon, verb = target.rpartition(":")
    if not colon:  # POST on a model itself: the path exists, the method does not
        raise StarletteHTTPException(405, "Method Not Allowed", headers={"Allow": "GET, DELETE"})
    raise TensormeshError(RpcCode.NOT_FOUND, f"models/{model_id}:{verb}: no such method")


@router.get("/admin/models", response_model=ModelsPage)
def admin_list_models(
    caller: Caller,
    models: ModelsDep,
    user_id: UserId = "",
    page: Page = 1,
    size: Size = 0,
) -> ModelsPage:
    """The project's models, `size` per page; an admin token only."""
    return models.page(caller, user_id, page, size)


@router.delete("/admin/models/{modelId}", response_model=Empty)
def admin_delete_model(
    caller: Caller, models: ModelsDep, model_id: ModelId, user_id: UserId = ""
) -> Empty:
    del user_id
    caller.require_admin()
    models.delete(caller, model_id)
    return Empty()


@router.get("/observability/deployments/{deploymentId}/logs", response_model=LogsResponse)
def deployment_logs_route(
    caller: Caller,
    services: Services,
    deployment_id: DeploymentId,
    user_id: UserId = "",
    start_time: Annotated[str, Query(alias="startTime")] = "",
    end_time: Annotated[str, Query(alias="endTime")] = "",
    limit: Annotated[int, Query()] = 0,
    direction: Annotated[str, Query()] = "",
) -> LogsResponse:
    """The replicas' log lines (no timestamps: a time range is refused)."""
    del user_id
    logs = deployment_logs(
        services,
        caller,
        deployment_id,
        limit=limit,
        direction=direction,
        time_range=bool(start_time or end_time),
    )
    return LogsResponse(logs=logs)


@router.get("/observability/deployments/{deploymentId}/metrics", response_model=MetricsResponse)
def deployment_metrics(
    caller: Caller, services: Services, deployment_id: DeploymentId
) -> MetricsResponse:
    """Always empty: Modelport keeps no metric history (current values: /metrics)."""
    services.endpoints.get(caller, deployment_id)  # 404 for a deployment the caller lacks
    return MetricsResponse(metrics=[])


auth = APIRouter(prefix="/auth")


@auth.get("/profile", response_model=ProfileResponse)
def auth_profile(caller: Caller, services: Services) -> ProfileResponse:
    """The token's project as a Tensormesh user; `user.id` is the userId to deploy with."""
    return ProfileResponse(user=profile(services, caller))


def create_app(services: ApiServices, authenticator: Authenticator, settings: Settings) -> FastAPI:
    del settings  # body limits and the like are the mounting API's
    app = FastAPI(
        title="Modelport: Tensormesh-compatible API",
        version=__version__,
        description="Tensormesh's model API over Modelport endpoints "
        "(docs/dialects/tensormesh.md).",
        responses=_ERRORS,
    )
    app.state.authenticator = authenticator
    app.state.services = services
    app.state.models = Models(services)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(auth)
    app.include_router(not_applicable.router())
    return app
