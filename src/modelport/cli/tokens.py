"""API tokens (`modelport token create|ls|revoke`) and `modelport whoami`."""

from __future__ import annotations

from typing import Annotated

import typer

from modelport.cli import render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption
from modelport.domain.records import Role

token_app = typer.Typer(help="Create, list and revoke API tokens.", no_args_is_help=True)


@token_app.command("create")
def create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A label for the token.")],
    role: Annotated[Role, typer.Option(help="What the token may do.")] = Role.MEMBER,
    endpoint: Annotated[
        str | None, typer.Option(help="Limit the token to calling this endpoint.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token; its secret is shown this once."""
    with api_client(ctx) as client:
        created = client.create_token(name, role, endpoint)
    render.print_new_token(created, as_json)


@token_app.command("ls")
def list_tokens(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the project's live tokens (never their secrets)."""
    with api_client(ctx) as client:
        tokens = client.list_tokens()
    if as_json:
        render.print_json(tokens)
    else:
        render.out.print(render.tokens_table(tokens.items))


@token_app.command("revoke")
def revoke(
    ctx: typer.Context, token_id: Annotated[int, typer.Argument(help="The token's id.")]
) -> None:
    """Revoke a token: it stops working at once."""
    with api_client(ctx) as client:
        client.revoke_token(token_id)
    render.out.print(f"token {token_id} revoked")


def whoami(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the server, project and role this CLI acts as."""
    with api_client(ctx) as client:
        me = client.whoami()
        config = client.config
    if as_json:
        render.print_json(me)
        return
    scope = f", endpoint {me.endpoint_id} only" if me.endpoint_id is not None else ""
    render.out.print(f"server:  {config.base_url}")
    render.out.print(f"project: {me.project} (id {me.project_id})")
    render.out.print(
        f"role:    {me.role.value}{scope} (token {me.token_id}, from {config.token_source})"
    )
