"""/ui/session: sign in with a token, who is signed in, sign out (docs/dashboard.md).

The cookie is the token sealed by security/sessions.py; the answer carries the CSRF value the
page sends back as X-CSRF-Token on every change, and the same `whoami` the API answers."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from modelport.api.deps import Services, get_authenticator
from modelport.api.errors import ERROR_RESPONSES
from modelport.api.routes.projects import whoami
from modelport.api.schemas import WhoAmI
from modelport.domain.errors import Unauthorized
from modelport.security.sessions import SESSION_COOKIE, SessionCookies
from modelport.services.auth import Authenticator

router = APIRouter(prefix="/ui", tags=["dashboard"], responses=ERROR_RESPONSES)


class SignIn(BaseModel):
    token: str = Field(min_length=1, max_length=512, description="a Modelport API token")


class Session(BaseModel):
    csrf: str  # send it back as X-CSRF-Token on every change
    whoami: WhoAmI


def get_sessions(request: Request) -> SessionCookies:
    return cast(SessionCookies, request.app.state.sessions)


Sessions = Annotated[SessionCookies, Depends(get_sessions)]
AuthenticatorDep = Annotated[Authenticator, Depends(get_authenticator)]


@router.post("/session", response_model=Session)
def sign_in(
    body: SignIn,
    request: Request,
    response: Response,
    sessions: Sessions,
    authenticator: AuthenticatorDep,
    services: Services,
) -> Session:
    """Checks the token as the API does, then sets the HttpOnly session cookie."""
    try:
        principal = authenticator.authenticate(f"Bearer {body.token.strip()}")
    except Unauthorized as exc:
        raise Unauthorized(f"token: {exc.message}", field="token") from exc
    sealed = sessions.seal(body.token.strip())
    response.set_cookie(
        SESSION_COOKIE,
        sealed.cookie,
        max_age=sessions.max_age_s,
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return Session(csrf=sealed.csrf, whoami=whoami(principal, services))


@router.get("/session", response_model=Session)
def current(
    request: Request, sessions: Sessions, authenticator: AuthenticatorDep, services: Services
) -> Session:
    """The signed-in session (401: none): a reloaded page learns its CSRF value again."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise Unauthorized("not signed in")
    principal = authenticator.authenticate(sessions.authorization(cookie, None, "GET"))
    return Session(csrf=sessions.csrf(cookie), whoami=whoami(principal, services))


@router.delete("/session", status_code=204)
def sign_out(response: Response) -> Response:
    """Clears the cookie. The token itself stays valid until revoked (tokens page)."""
    response.status_code = 204
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
