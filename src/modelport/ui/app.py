"""Mounts the dashboard on the management API app: /ui/session and the static pages.

The pages are plain files (ui/static): they call the same /api/v1 the CLI and SDK call, so
validation, authorization and error envelopes exist once. Every file is served with a strict
Content-Security-Policy: scripts, styles and connections only from this server."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from modelport.security.sessions import SessionCookies
from modelport.ui import session

STATIC_DIR = Path(__file__).parent / "static"
UI_PATH = "/ui"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    # Revalidate each load (ETag): an upgraded server's pages are seen at once.
    "Cache-Control": "no-cache",
}


class _Static(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def mount_ui(api: FastAPI, sessions: SessionCookies) -> None:
    """The session routes, the static pages under /ui/, and / -> /ui/ for a browser."""
    api.state.sessions = sessions  # api/deps.py reads it: the cookie stands for a token
    api.include_router(session.router)

    @api.get("/", include_in_schema=False)
    @api.get(UI_PATH, include_in_schema=False)
    def to_dashboard() -> RedirectResponse:
        return RedirectResponse(f"{UI_PATH}/", status_code=307)

    api.mount(UI_PATH, _Static(directory=STATIC_DIR, html=True), name="ui")
