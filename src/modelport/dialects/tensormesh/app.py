"""Tensormesh's model management API (seed 003), mounted by the server at `/tensormesh`.

    POST   /tensormesh/v1/models             deploy a model (the key is shown in this reply only)
    GET    /tensormesh/v1/models[?userId=]   list models
    GET    /tensormesh/v1/models/{modelId}   one model
    DELETE /tensormesh/v1/models/{modelId}   delete it

Inference is the gateway's: `{gateway}/tensormesh/openai/v1/...` with `model` = modelName and
the model's apiKey (or any token of the project) as Bearer token.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi import Path as PathParam

from modelport import __version__
from modelport.api.container import ApiServices
from modelport.api.deps import CurrentPrincipal
from modelport.dialects.tensormesh.errors import install_error_handlers
from modelport.dialects.tensormesh.operations import Models
from modelport.dialects.tensormesh.schemas import (
    DeployModelRequest,
    ListModelsResponse,
    ModelResponse,
    RpcStatus,
)
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
router = APIRouter(prefix="/v1")


@router.post("/models", response_model=ModelResponse, response_model_by_alias=True)
def deploy_model(
    caller: Caller, models: ModelsDep, body: Annotated[DeployModelRequest, Body()]
) -> ModelResponse:
    """Deploy a model. `apiKey` (yours, or a minted one) is in this response only."""
    return ModelResponse(model=models.deploy(caller, body))


@router.get("/models", response_model=ListModelsResponse, response_model_by_alias=True)
def list_models(
    caller: Caller, models: ModelsDep, user_id: Annotated[str, Query(alias="userId")] = ""
) -> ListModelsResponse:
    """The caller's models (an apiKey sees only its own), optionally of one userId."""
    return ListModelsResponse(models=models.listing(caller, user_id))


@router.get("/models/{modelId}", response_model=ModelResponse, response_model_by_alias=True)
def get_model(caller: Caller, models: ModelsDep, model_id: ModelId) -> ModelResponse:
    return ModelResponse(model=models.get(caller, model_id))


@router.delete("/models/{modelId}", response_model=ModelResponse, response_model_by_alias=True)
def delete_model(caller: Caller, models: ModelsDep, model_id: ModelId) -> ModelResponse:
    """Tear the model down; it shows MODEL_STATUS_DELETING until it is gone."""
    return ModelResponse(model=models.delete(caller, model_id))


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
    app.state.models = Models(services)
    install_error_handlers(app)
    app.include_router(router)
    return app
