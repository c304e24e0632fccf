"""Projects (`modelport projects ls|get|create|set|token`): the server admin's commands.

Everyone can list and read their own project; creating projects, changing their limits or
host access and minting a project's tokens take the server admin's token (the bootstrap
token in $MODELPORT_HOME/admin-token on the server).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from modelport.cli import render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption
from modelport.domain.records import Role
from modelport.schemas.native import ProjectPublic

projects_app = typer.Typer(
    help="List projects; create them, set their limits and host access (server admin).",
    no_args_is_help=True,
)

# A limit option: N sets it, 0 or more; "none" (or "unlimited") lifts it.
LimitOption = Annotated[
    str | None, typer.Option(metavar="N|none", help="A number, or 'none' for unlimited.")
]
_UNLIMITED = frozenset({"none", "unlimited"})


@projects_app.command("ls")
def list_projects(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The projects this token sees: its own (every project for the server admin)."""
    with api_client(ctx) as client:
        projects = client.projects()
    if as_json:
        render.print_json(projects)
    else:
        render.out.print(render.projects_table(projects.items))


@projects_app.command("get")
def get(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The project's name.")],
    as_json: JsonOption = False,
) -> None:
    """One project: its limits and host access."""
    with api_client(ctx) as client:
        project = client.get_project(name)
    _show(project, as_json)


@projects_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new project's name.")],
    as_json: JsonOption = False,
) -> None:
    """Create a project (server admin); its first admin token is shown this once."""
    with api_client(ctx) as client:
        created = client.create_project(name)
    if as_json:
        render.print_json(created)
        return
    render.out.print(f"project {created.name} (id {created.id}) admin token: {created.admin_token}")
    render.err.print(Text("shown once: hand it to the project's team now.", "yellow"))


@projects_app.command("set")
def set_project(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The project's name.")],
    max_endpoints: LimitOption = None,
    max_replicas: LimitOption = None,
    max_gpus: LimitOption = None,
    requests_per_minute: LimitOption = None,
    concurrent_requests: LimitOption = None,
    host_access: Annotated[
        bool | None,
        typer.Option(
            "--host-access/--no-host-access",
            help="Grant or revoke host access: custom commands, exec probes, host paths, "
            "loader env (see docs/security.md).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a project's limits or host access (server admin); options left out stay."""
    given = {
        "max_endpoints": max_endpoints,
        "max_replicas": max_replicas,
        "max_gpus": max_gpus,
        "requests_per_minute": requests_per_minute,
        "concurrent_requests": concurrent_requests,
    }
    limits = {key: _limit(key, value) for key, value in given.items() if value is not None}
    if not limits and host_access is None:
        raise typer.BadParameter("nothing to change: give a limit or --host-access/--no-...")
    with api_client(ctx) as client:
        project = client.update_project(name, limits or None, host_access)
    _show(project, as_json)


@projects_app.command("token")
def token(
    ctx: typer.Context,
    project: Annotated[str, typer.Argument(help="The project the token acts in.")],
    name: Annotated[str, typer.Argument(help="A label for the token.")],
    role: Annotated[Role, typer.Option(help="What the token may do.")] = Role.ADMIN,
    as_json: JsonOption = False,
) -> None:
    """Mint a token of a project (server admin), e.g. a team's admin token; shown once."""
    with api_client(ctx) as client:
        created = client.create_project_token(project, name, role)
    render.print_new_token(created, as_json)


def _show(project: ProjectPublic, as_json: bool) -> None:
    if as_json:
        render.print_json(project)
    else:
        render.out.print(render.projects_table([project]))


def _limit(option: str, value: str) -> int | None:
    if value.strip().lower() in _UNLIMITED:
        return None
    try:
        return int(value)
    except ValueError:
        flag = "--" + option.replace("_", "-")
        raise typer.BadParameter(f"{flag}: a whole number, or 'none'") from None
