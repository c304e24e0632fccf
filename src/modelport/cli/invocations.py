"""Async invocations (`modelport invocations submit|ls|get|cancel|enable|disable`).

Submitting goes through the gateway's intake (`POST /endpoints/NAME/async/PATH`), answered at
once; a worker sends the request to a replica later and the answer is read back with `get`.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from modelport.cli import render
from modelport.cli.context import EXIT_ERROR
from modelport.cli.endpoints import JsonOption, NameArgument
from modelport.cli.invocation_views import (
    accepted_table,
    invocations_client,
    invocations_table,
    print_result,
    show_invocation,
)
from modelport.domain.invocations import InvocationStatus

invocations_app = typer.Typer(
    help="Async invocations: queue a request now, read its answer later.",
    no_args_is_help=True,
)

IdArgument = Annotated[str, typer.Argument(help="The invocation's id (inv-...).")]


def parse_data(raw: str) -> Any:
    """JSON given inline, or @FILE (@- reads stdin); bad JSON is a usage error naming --data."""
    if raw.startswith("@"):
        source = raw[1:]
        try:
            raw = sys.stdin.read() if source == "-" else Path(source).read_text()
        except OSError as exc:
            message = f"cannot read {source}: {exc.strerror}"
            raise typer.BadParameter(message, param_hint="--data") from None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(
            f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); give JSON or @FILE",
            param_hint="--data",
        ) from None


@invocations_app.command("submit")
def submit(
    ctx: typer.Context,
    name: NameArgument,
    path: Annotated[str, typer.Argument(help="The replica's path, e.g. v1/chat/completions.")],
    data: Annotated[
        str, typer.Option("--data", "-d", help="The request body: JSON, or @FILE (@- stdin).")
    ],
    idempotency_key: Annotated[
        str | None,
        typer.Option(help="The same key on the same endpoint returns the same invocation."),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Wait for a final status and show the result.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait with --wait.")] = 600,
    as_json: JsonOption = False,
) -> None:
    """Queue a request; prints its id at once (or, with --wait, the finished invocation)."""
    body = parse_data(data)
    with invocations_client(ctx, name) as client:
        accepted = client.submit_invocation(name, path, body, idempotency_key)
        if not wait:
            if as_json:
                render.print_json(accepted)
            else:
                render.out.print(accepted_table(accepted))
            return
        render.err.print(f"queued {accepted.id}; waiting for it...")
        done = client.wait_invocation(name, accepted.id, timeout=timeout)
    show_invocation(done, as_json)
    _fail_unless_completed(done.status, done.id, done.error)


def _fail_unless_completed(status: InvocationStatus, invocation_id: str, error: str | None) -> None:
    """Exit code 1 for a final status other than completed, so scripts can tell."""
    if status is InvocationStatus.COMPLETED:
        return
    render.err.print(
        Text(f"error: invocation {invocation_id} {status.value}: {error or '-'}", "bold red")
    )
    raise typer.Exit(EXIT_ERROR)


@invocations_app.command("ls")
def list_invocations(
    ctx: typer.Context,
    name: NameArgument,
    status: Annotated[
        list[InvocationStatus] | None, typer.Option(help="Only this status (repeatable).")
    ] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Created at or after (e.g. 2026-01-01T12:00:00).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="At most this many.")] = 50,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many (paging).")] = 0,
    as_json: JsonOption = False,
) -> None:
    """List an endpoint's invocations, newest first."""
    with invocations_client(ctx, name) as client:
        page = client.list_invocations(name, status or (), since, limit, offset)
    if as_json:
        render.print_json(page)
        return
    render.out.print(invocations_table(page.items))
    shown = offset + len(page.items)
    if shown < page.total:
        render.err.print(f"{len(page.items)} of {page.total}; more with --offset {shown}")


@invocations_app.command("get")
def get(
    ctx: typer.Context,
    name: NameArgument,
    invocation_id: IdArgument,
    result: Annotated[
        bool, typer.Option("--result", help="Print only the replica's answer (for a pipe).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show an invocation: status, timings, error, and the replica's answer once written."""
    with invocations_client(ctx, name, invocation_id) as client:
        found = client.get_invocation(name, invocation_id)
    if not result:
        show_invocation(found, as_json)
        return
    if found.result is None:
        render.err.print(Text(f"error: invocation {found.id} has no result yet", "bold red"))
        render.err.print(
            Text(f"hint: it is {found.status.value}; wait for completed", style="yellow")
        )
        raise typer.Exit(EXIT_ERROR)
    print_result(found.result)


@invocations_app.command("cancel")
def cancel(
    ctx: typer.Context, name: NameArgument, invocation_id: IdArgument, as_json: JsonOption = False
) -> None:
    """Cancel a queued invocation (one already started runs to its end)."""
    with invocations_client(ctx, name, invocation_id) as client:
        canceled = client.cancel_invocation(name, invocation_id)
    if as_json:
        render.print_json(canceled)
    else:
        render.out.print(f"invocation {canceled.id} canceled")


@invocations_app.command("enable")
def enable(
    ctx: typer.Context,
    name: NameArgument,
    workers: Annotated[
        int | None,
        typer.Option(min=1, max=1024, help="Invocations in flight at once per server."),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(help="Where results land: a dataset name or id (default: 'default')."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Turn async invocations on for an endpoint (spec.async_config; replicas keep running)."""
    changes: dict[str, Any] = {"enabled": True}
    if workers is not None:
        changes["concurrent_workers"] = workers
    if dataset is not None:
        changes["dataset_id"] = dataset
    _set_async(ctx, name, changes, as_json)


@invocations_app.command("disable")
def disable(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Stop taking async invocations; the queued ones are still finished."""
    _set_async(ctx, name, {"enabled": False}, as_json)


def _set_async(ctx: typer.Context, name: str, changes: dict[str, Any], as_json: bool) -> None:
    with invocations_client(ctx, name) as client:
        endpoint = client.patch_endpoint(name, {"async_config": changes})
    if as_json:
        render.print_json(endpoint)
        return
    config = endpoint.spec.async_config
    if not config.enabled:
        render.out.print(f"async invocations off for {name}; queued ones are still finished")
        return
    render.out.print(
        f"async invocations on for {name}: {config.concurrent_workers} worker(s), results in "
        f"dataset {config.dataset_id or 'default'}"
    )
    render.out.print(
        f"submit with: modelport invocations submit {name} v1/chat/completions -d @body.json"
    )
