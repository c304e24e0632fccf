"""Which dialects exist and where the server mounts their management APIs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from fastapi import FastAPI
from starlette.routing import Mount

from modelport.api.container import ApiServices
from modelport.api.error_plumbing import Envelope
from modelport.domain.dialects import DIALECTS, DialectHome
from modelport.services.auth import Authenticator
from modelport.settings import Settings

DialectFactory = Callable[[ApiServices, Authenticator, Settings], FastAPI]


@dataclass(frozen=True, slots=True)
class Dialect:
    home: DialectHome  # its name and prefixes (domain/dialects.py)
    create_app: DialectFactory

    @property
    def prefix(self) -> str:
        """Mount point of its management app, e.g. "/tir"."""
        return self.home.management_prefix


def dialects() -> list[Dialect]:
    """One per row of the dialect table, in its order. Each dialect's package is
    `modelport.dialects.<name>` with `app.create_app`; imported here, not at module level, so
    one dialect's import error names that dialect."""
    return [
        Dialect(home, import_module(f"modelport.dialects.{home.name}.app").create_app)
        for home in DIALECTS
    ]


def management_envelopes() -> tuple[tuple[str, Envelope], ...]:
    """(path prefix of a dialect's management API, the error envelope it answers in), one per
    row of the dialect table; each dialect's `errors.ENVELOPE`."""
    return tuple(
        (
            home.management_prefix + "/",
            import_module(f"modelport.dialects.{home.name}.errors").ENVELOPE,
        )
        for home in DIALECTS
    )


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
