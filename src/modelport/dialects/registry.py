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
    found: list[Dialect] = []
    # Each dialect adds one entry below: found.append(Dialect("/x", x_app.create_app)).
    from modelport.dialects.deepinfra import app as deepinfra_app

    found.append(Dialect("/deepinfra", deepinfra_app.create_app))
    from modelport.dialects.tensormesh import app as tensormesh_app

    found.append(Dialect("/tensormesh", tensormesh_app.create_app))
    from modelport.dialects.tir import app as tir_app

    found.append(Dialect("/tir", tir_app.create_app))
    return found
