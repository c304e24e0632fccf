"""`modelport replicas`: list an endpoint's replicas, or restart one of them.

`modelport replicas NAME` (no subcommand) lists, as it did before `restart` existed.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text
from typer.core import TyperGroup

from modelport.cli import observe, render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption, NameArgument


class _ListByDefault(TyperGroup):
    """A first argument that is not a subcommand is an endpoint name to list."""

    # ctx is the Context of the click typer vendors (typer._click), not public API.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["ls", *args]
        return super().parse_args(ctx, args)


replicas_app = typer.Typer(
    cls=_ListByDefault,
    help="An endpoint's replicas: `replicas NAME` lists them, `replicas restart` replaces one.",
    no_args_is_help=True,
)
replicas_app.command("ls")(observe.replicas)


@replicas_app.command("restart")
def restart(
    ctx: typer.Context,
    name: NameArgument,
    replica_id: Annotated[int, typer.Argument(help="Replica id (see `modelport replicas`).")],
    as_json: JsonOption = False,
) -> None:
    """Replace one replica by a fresh one; the others keep serving."""
    with api_client(ctx) as client:
        replica = client.restart_replica(name, replica_id)
    if as_json:
        render.print_json(replica)
        return
    render.out.print(render.replicas_table([replica]))
    line = Text(f"{name}: ", style="bold")
    line.append(
        f"replica {replica.id} is replaced: a fresh one starts, then this one drains once the "
        "fresh one is ready"
    )
    render.out.print(line)
