"""Request dependencies: the caller's principal and the services (FastAPI `Annotated` style)."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from modelport.api.container import ApiServices
from modelport.security.sessions import CSRF_HEADER, SESSION_COOKIE, SessionCookies
from modelport.services.auth import Authenticator, Principal, single_header

# Declares the scheme in the OpenAPI document; the Authenticator does the actual check.
_bearer_scheme = HTTPBearer(auto_error=False, description="a Modelport API token")


def get_services(request: Request) -> ApiServices:
    return cast(ApiServices, request.app.state.services)


def get_authenticator(request: Request) -> Authenticator:
    return cast(Authenticator, request.app.state.authenticator)


Services = Annotated[ApiServices, Depends(get_services)]
AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


def get_principal(
    request: Request,
    authenticator: AuthenticatorDep,
    _scheme: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Principal:
    """Sync on purpose: FastAPI runs it in the threadpool, so a cache miss may hit the store.

    Without an Authorization header, the dashboard's session cookie stands for its token; a
    change made with it needs the X-CSRF-Token header too (security/sessions.py)."""
    authorization = single_header(request.headers.getlist("authorization"), "Authorization")
    sessions: SessionCookies | None = getattr(request.app.state, "sessions", None)
    cookie = request.cookies.get(SESSION_COOKIE) if authorization is None else None
    if sessions is not None and cookie:
        csrf = single_header(request.headers.getlist(CSRF_HEADER), CSRF_HEADER)
        authorization = sessions.authorization(cookie, csrf, request.method)
    return authenticator.authenticate(authorization)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
