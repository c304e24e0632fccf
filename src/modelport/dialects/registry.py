"""Which dialects exist and where the server mounts their management APIs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.routing import Mount

from modelport.api.container import ApiServices
from modelport.services.auth import Authenticator
from modelport.settings import Settings

DialectFactory = Callable[[ApiServices, Authenticator, Settings], FastAPI]


@dataclass(frozen=True, slots=True)
class Dialect:
    prefix: str  # mount point, e.g. "/tir"
    create_app: DialectFactory


def dialects() -> list[Dialect]:
    """Imported here, not at module level, so one dialect's import error names that dialect."""
    from modelport.dialects.deepinfra import app as deepinfra_app
    from modelport.dialects.tensormesh import app as tensormesh_app
    from modelport.dialects.tir import app as tir_app

    return [
        Dialect("/deepinfra", deepinfra_app.create_app),
        Dialect("/tensormesh", tensormesh_app.create_app),
        Dialect("/tir", tir_app.create_app),
    ]


def mount_dialects(
    api: FastAPI, services: ApiServices, authenticator: Authenticator, settings: Settings
) -> None:
    """Mount every dialect's management app on the native API app (as the server does)."""
    for dialect in dialects():
        app = dialect.create_app(services, authenticator, settings)
        api.router.routes.append(DialectMount(dialect.prefix, app=app))


class DialectMount(Mount):
    """A mount that also takes paths holding a newline (a decoded %0A): a plain Mount's `.*`
    stops at one, so such a path fell through to the native API's 404 in the wrong envelope."""

    def __init__(self, path: str, app: FastAPI) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)
