"""The global options, and the one place where SDK errors become a red line and an exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import typer
from rich.text import Text

from modelport.cli import render
from modelport.sdk import (
    AuthError,
    Client,
    EndpointNotReadyError,
    ModelportAPIError,
    ModelportClientError,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
)

EXIT_ERROR = 1

_AUTH_HINT = (
    "set MODELPORT_TOKEN (or --token), or run on the server host where "
    "~/.modelport/admin-token exists"
)


@dataclass(frozen=True, slots=True)
class Options:
    url: str | None = None
    token: str | None = None


def options(ctx: typer.Context) -> Options:
    found = ctx.find_object(Options)
    return found if found is not None else Options()


@contextmanager
def api_client(ctx: typer.Context) -> Iterator[Client]:
    """A client from the global options; SDK errors end the command with exit code 1."""
    opts = options(ctx)
    try:
        with Client(opts.url, opts.token) as client:
            yield client
    except ModelportClientError as exc:
        report_error(exc)
        raise typer.Exit(EXIT_ERROR) from None


def report_error(exc: ModelportClientError) -> None:
    render.err.print(Text(f"error: {error_message(exc)}", style="bold red"))
    hint = error_hint(exc)
    if hint:
        render.err.print(Text(f"hint: {hint}", style="yellow"))
    if isinstance(exc, EndpointNotReadyError) and exc.events:
        render.err.print(Text("latest events:", style="bold"))
        for event in exc.events:
            render.err.print(render.event_line(event))


def error_message(exc: ModelportClientError) -> str:
    """One line; it starts with the field (e.g. "spec.replicas: ...") when the server named one."""
    message = str(exc)
    if isinstance(exc, ModelportAPIError) and exc.field and not message.startswith(exc.field):
        message = f"{exc.field}: {message}"
    return " ".join(message.split())


def error_hint(exc: ModelportClientError) -> str | None:
    if isinstance(exc, AuthError):
        return _AUTH_HINT
    if isinstance(exc, PermissionDeniedError):
        if "host access" in exc.message or "server admin" in exc.message:
            return None  # the message says who can grant or do it
        return "this token's role cannot do that: use a member or admin token"
    if isinstance(exc, QuotaExceededError):
        return "see the project's limits with `modelport projects ls`"
    if isinstance(exc, NotFoundError) and exc.field == "replica":
        return "list the endpoint's replicas with `modelport replicas NAME`"
    if isinstance(exc, NotFoundError):
        return f"list what exists with `{_list_command(exc.message)}`"
    if isinstance(exc, EndpointNotReadyError):
        return f"inspect it with `modelport get {exc.endpoint.name}` and `modelport logs ...`"
    return None


# What a "not found" names -> the command that lists those; endpoints are the default.
_LISTS = (
    ("endpoint", "modelport ls"),
    ("integration", "modelport integrations ls"),
    ("dataset", "modelport datasets ls"),
    ("invocation", "modelport invocations ls NAME"),
    ("model", "modelport models ls"),
)


def _list_command(message: str) -> str:
    lowered = message.lower()
    return next((command for word, command in _LISTS if word in lowered), "modelport ls")
