"""Endpoint commands: ls, get, patch, stop, start, restart, delete."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from modelport.cli import parsing, render
from modelport.cli.context import api_client
from modelport.cli.progress import ReadyProgress
from modelport.schemas.native import ActionResult, EndpointList, EndpointPublic
from modelport.sdk import Client, EndpointFilters

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON only.")]
NameArgument = Annotated[str, typer.Argument(help="Endpoint name.")]
DEFAULT_TIMEOUT = 900.0


def ls(
    ctx: typer.Context,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Endpoints per page (1-1000).")] = 100,
    show_all: Annotated[
        bool, typer.Option("--all", help="Every page, not just the first.")
    ] = False,
    cursor: Annotated[str | None, typer.Option(help="Start after this page's cursor.")] = None,
    prefix: Annotated[str, typer.Option(help="Only names starting with this.")] = "",
    state: Annotated[str | None, typer.Option(help="Only running / stopped.")] = None,
    phase: Annotated[list[str] | None, typer.Option(help="Only this phase (repeatable).")] = None,
    framework: Annotated[str | None, typer.Option(help="Only this engine.")] = None,
) -> None:
    """List endpoints, a page at a time (oldest first)."""
    filters = EndpointFilters(prefix, state, tuple(phase or ()), framework)
    with api_client(ctx) as client:
        if show_all:
            page = EndpointList(items=client.all_endpoints(filters, page_size=limit))
        else:
            page = client.list_endpoints(limit, cursor, filters)
    if as_json:
        render.print_json(page)
    elif not page.items:
        render.err.print(
            "no endpoints match"
            if cursor or filters.params()
            else "no endpoints yet; create one with `modelport deploy`"
        )
    else:
        render.out.print(render.endpoints_table(page.items))
        if page.next_cursor is not None:
            render.err.print(f"more: --cursor {page.next_cursor} (or --all)")


def get(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Show an endpoint and its replicas."""
    with api_client(ctx) as client:
        endpoint = client.get_endpoint(name)
        if as_json:
            render.print_json(endpoint)
            return
        replicas = client.replicas(name)
    render.out.print(render.endpoint_panel(endpoint, replicas.items))


def patch(
    ctx: typer.Context,
    name: NameArgument,
    replicas: Annotated[int | None, typer.Option(help="Number of replicas.")] = None,
    engine_arg: Annotated[
        list[str] | None, typer.Option(help="Set an engine argument KEY=VALUE (repeatable).")
    ] = None,
    extra_arg: Annotated[
        list[str] | None, typer.Option(help="Replace the extra arguments (repeatable).")
    ] = None,
    env: Annotated[list[str] | None, typer.Option(help="Set an environment KEY=VALUE.")] = None,
    secret_env: Annotated[list[str] | None, typer.Option(help="Set a secret KEY=VALUE.")] = None,
    command: Annotated[str | None, typer.Option(help="Replace the command.")] = None,
    model: Annotated[str | None, typer.Option(help="Replace the model (path or HF id).")] = None,
    generation: Annotated[
        int | None, typer.Option(help="Fail with a conflict unless this is still current.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until ready.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for ready.")] = DEFAULT_TIMEOUT,
    as_json: JsonOption = False,
) -> None:
    """Change an endpoint's spec; replicas roll onto the new generation."""
    changes: dict[str, Any] = {}
    if replicas is not None:
        changes["replicas"] = replicas
    if extra_arg:
        changes["extra_args"] = list(extra_arg)
    if command is not None:
        changes["command"] = parsing.command(command)
    if model is not None:
        changes["model"] = parsing.model_source(model)
    new_args = parsing.engine_args(engine_arg or [])
    new_env = parsing.env_vars(env or [], secret_env or [])
    if not (changes or new_args or new_env):
        raise typer.BadParameter("nothing to change: give at least one option")
    with api_client(ctx) as client:
        if new_args or new_env:
            # engine_args and env are replaced whole by a patch: merge with the current ones,
            # and send the generation read so a concurrent change is a conflict, not lost.
            current = client.get_endpoint(name)
            generation = generation or current.generation
            spec = current.spec.model_dump(mode="json")
            if new_args:
                changes["engine_args"] = {**spec["engine_args"], **new_args}
            if new_env:
                changes["env"] = parsing.merge_env(spec["env"], new_env)
        after_id = _last_event_id(client, name) if wait else 0
        endpoint = client.patch_endpoint(name, changes, generation)
        if wait:
            endpoint = _wait(client, name, timeout, after_id)
    if as_json:
        render.print_json(endpoint)
    else:
        render.out.print(f"{name}: generation {endpoint.generation}, {endpoint.phase.value}")


def stop(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Stop all replicas; the spec and URL are kept."""
    with api_client(ctx) as client:
        _show_action(client.stop_endpoint(name), as_json)


def start(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Start a stopped endpoint."""
    with api_client(ctx) as client:
        _show_action(client.start_endpoint(name), as_json)


def restart(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Replace the replicas one by one."""
    with api_client(ctx) as client:
        _show_action(client.restart_endpoint(name), as_json)


def delete(
    ctx: typer.Context,
    name: NameArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete an endpoint: its replicas stop and its keys are revoked."""
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Delete endpoint {name!r} and revoke its keys?", abort=True)
    with api_client(ctx) as client:
        _show_action(client.delete_endpoint(name), as_json)


def _show_action(result: ActionResult, as_json: bool) -> None:
    if as_json:
        render.print_json(result)
        return
    line = Text(f"{result.endpoint.name}: ", style="bold")
    line.append(result.message)
    render.out.print(line)


def _last_event_id(client: Client, name: str) -> int:
    events = client.latest_events(name)
    return events[-1].id if events else 0


def _wait(client: Client, name: str, timeout: float, after_id: int) -> EndpointPublic:
    with ReadyProgress(client, name, after_id=after_id) as progress:
        return client.wait_ready(name, timeout=timeout, on_progress=progress.update)
