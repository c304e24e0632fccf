"""Which dialects exist and where the server mounts their management APIs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI

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
        api.mount(dialect.prefix, dialect.create_app(services, authenticator, settings))
