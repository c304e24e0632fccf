"""DeepInfra's deployment API (mounted at /deepinfra): deploy, list, read, scale, stop, start,
delete. Inference (/deepinfra/v1/openai/...) is served by the gateway, not by this app.

Authentication: `Authorization: Bearer <Modelport token>`, or DeepInfra's `xi-api-key: <token>`
header when no Authorization header is sent.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from modelport import __version__
from modelport.api.container import ApiServices
from modelport.dialects.deepinfra.deployments import Deployments
from modelport.dialects.deepinfra.errors import ERROR_RESPONSES, BadField, install_error_handlers
from modelport.dialects.deepinfra.schemas import (
    DeployLLMIn,
    DeployOut,
    DeployStatus,
    DeployUpdateIn,
)
from modelport.dialects.listing import MAX_PAGE, MAX_PAGE_NUMBER, Window
from modelport.services.auth import Authenticator, Principal, single_header
from modelport.settings import Settings

API_KEY_HEADER = "xi-api-key"

_bearer = HTTPBearer(auto_error=False, description="a Modelport API token")
_api_key = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="a Modelport API token (DeepInfra style)"
)


def _principal(
    request: Request,
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """Sync on purpose: FastAPI runs it in the threadpool, so a cache miss may hit the store."""
    authenticator = cast(Authenticator, request.app.state.authenticator)
    authorization = single_header(request.headers.getlist("authorization"), "Authorization")
    key = (single_header(request.headers.getlist(API_KEY_HEADER), API_KEY_HEADER) or "").strip()
    if not authorization and key:
        authorization = key if key.lower().startswith("bearer ") else f"Bearer {key}"
    return authenticator.authenticate(authorization)


def _deployments(request: Request) -> Deployments:
    return cast(Deployments, request.app.state.deployments)


CurrentPrincipal = Annotated[Principal, Depends(_principal)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="deployments per page")]
# Pages of at most MAX_PAGE: an offset beyond MAX_PAGE_NUMBER of them would find nothing.
Offset = Annotated[int, Query(ge=0, le=MAX_PAGE * MAX_PAGE_NUMBER, description="rows skipped")]
DeploymentsDep = Annotated[Deployments, Depends(_deployments)]


def parse_statuses(raw: str | None) -> list[DeployStatus]:
    """Comma-separated statuses ("running,failed") as a list; unknown ones: 422 naming `status`."""
    if not raw or not raw.strip():
        return []
    found: list[DeployStatus] = []
    for part in raw.split(","):
        value = part.strip()
        try:
            found.append(DeployStatus(value))
        except ValueError as exc:
            allowed = ",".join(s.value for s in DeployStatus)
            raise BadField(
                "status", f"unknown status {value!r}; allowed values: {allowed}", "enum", "query"
            ) from exc
    return found


def next_link(request: Request, offset: int) -> str:
    """The RFC 8288 link to the page at `offset`, the request's other parameters kept."""
    url = request.url.include_query_params(offset=offset)
    return f'<{url}>; rel="next"'


def create_app(services: ApiServices, authenticator: Authenticator, settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Modelport: DeepInfra-compatible deployments",
        version=__version__,
        description=(
            "DeepInfra's /deploy API over Modelport endpoints. Send your Modelport token as "
            "'Authorization: Bearer <token>' or as 'xi-api-key: <token>'."
        ),
        responses=ERROR_RESPONSES,
    )
    app.state.services = services
    app.state.authenticator = authenticator
    app.state.deployments = Deployments(services)
    install_error_handlers(app)

    @app.post("/deploy/llm", response_model=DeployOut, tags=["deploy"])
    def deploy_create_llm(
        body: DeployLLMIn, principal: CurrentPrincipal, deployments: DeploymentsDep
    ) -> DeployOut:
        """Deploy an LLM. The same model_name and config again returns the same deployment."""
        return deployments.create(principal, body)

    @app.get("/deploy/list", response_model=list[DeployOut], tags=["deploy"])
    @app.get("/deploy/list/", response_model=list[DeployOut], include_in_schema=False)
    def deploy_list(
        request: Request,
        response: Response,
        principal: CurrentPrincipal,
        deployments: DeploymentsDep,
        status: Annotated[
            str | None,
            Query(description="comma-separated statuses to return, e.g. 'running,failed'"),
        ] = None,
        limit: Limit | None = None,
        offset: Offset | None = None,
    ) -> list[DeployOut]:
        """Every deployment, oldest first, as DeepInfra answers; or a page of them (`limit`,
        `offset`: Modelport's extension, default 100 and 0), with a `Link: <...>; rel="next"`
        header naming the next page when there is one."""
        window = Window.sliced(offset, limit)
        shown, more = deployments.listing(principal, parse_statuses(status), window)
        if more:
            response.headers["Link"] = next_link(request, window.offset + window.limit)
        return shown

    @app.get("/deploy/{deploy_id}", response_model=DeployOut, tags=["deploy"])
    def deploy_status(
        deploy_id: str, principal: CurrentPrincipal, deployments: DeploymentsDep
    ) -> DeployOut:
        return deployments.get(principal, deploy_id)

    @app.put("/deploy/{deploy_id}", response_model=DeployOut, tags=["deploy"])
    def deploy_update(
        deploy_id: str,
        body: DeployUpdateIn,
        principal: CurrentPrincipal,
        deployments: DeploymentsDep,
    ) -> DeployOut:
        """Change settings (min/max instances). Config fields are immutable."""
        return deployments.update(principal, deploy_id, body)

    @app.delete("/deploy/{deploy_id}", response_model=DeployOut, tags=["deploy"])
    def deploy_delete(
        deploy_id: str, principal: CurrentPrincipal, deployments: DeploymentsDep
    ) -> DeployOut:
        """Tear the deployment down; it reads as `deleted` until it is gone, then 404."""
        return deployments.delete(principal, deploy_id)

    @app.post("/deploy/{deploy_id}/stop", response_model=DeployOut, tags=["deploy"])
    def deploy_stop(
        deploy_id: str, principal: CurrentPrincipal, deployments: DeploymentsDep
    ) -> DeployOut:
        return deployments.stop(principal, deploy_id)

    @app.post("/deploy/{deploy_id}/start", response_model=DeployOut, tags=["deploy"])
    def deploy_start(
        deploy_id: str, principal: CurrentPrincipal, deployments: DeploymentsDep
    ) -> DeployOut:
        return deployments.start(principal, deploy_id)

    return app
