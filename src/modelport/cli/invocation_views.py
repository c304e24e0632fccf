"""How `modelport invocations` shows things and which hint follows which error."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import typer
from rich.json import JSON
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from modelport.cli import render
from modelport.cli.context import EXIT_ERROR, error_hint, error_message, options
from modelport.domain.invocations import InvocationStatus
from modelport.schemas.invocations import InvocationPublic
from modelport.sdk import (
    Client,
    ConflictError,
    ModelportAPIError,
    ModelportClientError,
    NotFoundError,
    QuotaExceededError,
)
from modelport.sdk.invocations import InvocationAccepted, InvocationWaitTimeoutError

ENABLED_FIELD = "spec.async_config.enabled"

STATUS_STYLES: dict[InvocationStatus, str] = {
    InvocationStatus.QUEUED: "yellow",
    InvocationStatus.IN_PROGRESS: "cyan",
    InvocationStatus.COMPLETED: "green",
    InvocationStatus.FAILED: "bold red",
    InvocationStatus.CANCELED: "dim",
    InvocationStatus.EXPIRED: "dark_orange",
}


def status_text(status: InvocationStatus) -> Text:
    return Text(status.value, style=STATUS_STYLES[status])


def _took(i: InvocationPublic) -> str:
    if i.finished_at is None:
        return "-"
    return f"{(i.finished_at - i.created_at).total_seconds():.2f}s"


def invocations_table(items: Sequence[InvocationPublic]) -> Table:
    """ERROR only when one has an error, so a list fits 80 columns with whole ids."""
    table = Table(box=None, header_style="bold")
    columns = ["ID", "STATUS", "PATH", "TRIES", "HTTP", "AGE", "TOOK"]
    errors = any(i.error for i in items)
    for column in [*columns, "ERROR"] if errors else columns:
        table.add_column(column, overflow="fold", no_wrap=column in _WHOLE)
    for i in items:
        row: list[str | Text] = [
            i.id,
            status_text(i.status),
            i.path,
            str(i.attempts),
            str(i.response_status) if i.response_status is not None else "-",
            render.age(i.created_at),
            _took(i),
        ]
        table.add_row(*row, *([i.error or ""] if errors else []))
    return table


# Columns never folded: ids are copied into `get`/`cancel`; the others are short.
_WHOLE = frozenset({"ID", "STATUS", "TRIES", "HTTP", "AGE", "TOOK"})


def accepted_table(a: InvocationAccepted) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "STATUS", "RESULT URL", "RESPONSE LOCATION"):
        table.add_column(column, overflow="fold", no_wrap=column in _WHOLE)
    table.add_row(a.id, status_text(a.status), a.result_url, a.response_location)
    return table


def _when(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%Y-%m-%d %H:%M:%S} ({render.age(at)} ago)"


def invocation_panel(i: InvocationPublic) -> Panel:
    details = Table.grid(padding=(0, 2))
    details.add_column(style="bold")
    details.add_column(overflow="fold")
    rows: list[tuple[str, str | Text]] = [
        ("status", status_text(i.status)),
        ("endpoint", i.endpoint),
        ("request", f"{i.method} {i.path}"),
        ("attempts", str(i.attempts)),
        ("http status", "-" if i.response_status is None else str(i.response_status)),
        ("created", _when(i.created_at)),
        ("started", _when(i.started_at)),
        ("finished", _when(i.finished_at)),
        ("result key", i.result_key),
        ("result at", i.result_location or "-"),
    ]
    if not i.status.final:
        rows.append(("expires", _when(i.expires_at)))
    if i.error:
        rows.append(("error", Text(i.error, style="red")))
    for label, value in rows:
        details.add_row(label, value)
    return Panel(details, title=Text(i.id, style="bold"), title_align="left", expand=False)


def show_invocation(i: InvocationPublic, as_json: bool) -> None:
    """The panel, then the replica's answer (pretty JSON) when there is one."""
    if as_json:
        render.print_json(i)
        return
    render.out.print(invocation_panel(i))
    if i.result is not None:
        render.out.print(Text("result:", style="bold"))
        if isinstance(i.result, str):
            render.out.print(i.result)
        else:
            render.out.print(JSON.from_data(i.result))


def print_result(result: Any) -> None:
    """The bare result for a pipe: JSON as JSON, text as is."""
    text = result if isinstance(result, str) else json.dumps(result, indent=2)
    sys.stdout.write(text + "\n")


def hint(exc: ModelportClientError, name: str, invocation_id: str | None) -> str | None:
    """What to do next, for the errors these commands meet; else the CLI's general hint."""
    if isinstance(exc, ConflictError) and exc.field == ENABLED_FIELD:
        return f"turn async invocations on with `modelport invocations enable {name}`"
    if isinstance(exc, ConflictError) and exc.field == "status":
        return f"see where it is with `modelport invocations get {name} {invocation_id}`"
    if isinstance(exc, QuotaExceededError) and exc.field == "queue":
        wait = f"{exc.retry_after:g}s" if exc.retry_after else "a while"
        return (
            f"the endpoint's queue is full: retry after {wait}, add workers with "
            f"`modelport invocations enable {name} --workers N`, or raise "
            "MODELPORT_ASYNC_QUEUE_LIMIT on the server"
        )
    if isinstance(exc, NotFoundError) and exc.field == "invocation_id":
        return f"list the endpoint's invocations with `modelport invocations ls {name}`"
    if isinstance(exc, ModelportAPIError) and exc.status == 503:
        return "this server process does not serve async invocations; retry, or check its logs"
    if isinstance(exc, InvocationWaitTimeoutError):
        later = f"modelport invocations get {name} {exc.invocation.id}"
        return f"it goes on; check on it later with `{later}`"
    return error_hint(exc)


@contextmanager
def invocations_client(
    ctx: typer.Context, name: str, invocation_id: str | None = None
) -> Iterator[Client]:
    """Like context.api_client, with the hints above; errors end the command with exit 1."""
    opts = options(ctx)
    try:
        with Client(opts.url, opts.token) as client:
            yield client
    except ModelportClientError as exc:
        render.err.print(Text(f"error: {error_message(exc)}", style="bold red"))
        if said := hint(exc, name, invocation_id):
            render.err.print(Text(f"hint: {said}", style="yellow"))
        raise typer.Exit(EXIT_ERROR) from None
