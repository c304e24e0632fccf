"""Integrations, a project's named credentials (`modelport integrations add|ls|get|rotate|rm`).

A secret is read from stdin (`--token-stdin`) or an environment variable (`--token-env VAR`);
given as a plain argument it works but warns: other users see argv (ps) and shells keep it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.table import Table

from modelport.cli import render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption
from modelport.domain.integrations import IntegrationKind
from modelport.schemas.integrations import IntegrationPublic

integrations_app = typer.Typer(
    help="Integrations: named credentials (Hugging Face token, registry login, S3 keys).",
    no_args_is_help=True,
)

RefArg = Annotated[str, typer.Argument(help="The integration's name (or id).")]
_STDIN = "read it from stdin (one line)"
_ENV = "read it from this environment variable"
_PLAIN = "the value itself (visible to other users: prefer the -stdin or -env form)"

TokenOpt = Annotated[str | None, typer.Option("--token", help=f"Hub token: {_PLAIN}.")]
TokenEnv = Annotated[str | None, typer.Option("--token-env", metavar="VAR", help=f"Token: {_ENV}.")]
TokenStdin = Annotated[bool, typer.Option("--token-stdin", help=f"Token: {_STDIN}.")]
PasswordOpt = Annotated[
    str | None, typer.Option("--password", help=f"Registry password: {_PLAIN}.")
]
PasswordEnv = Annotated[
    str | None, typer.Option("--password-env", metavar="VAR", help=f"Password: {_ENV}.")
]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help=f"Password: {_STDIN}.")]
KeyIdOpt = Annotated[str | None, typer.Option("--access-key-id", help="S3 access key id.")]
KeyOpt = Annotated[
    str | None, typer.Option("--secret-access-key", help=f"S3 secret key: {_PLAIN}.")
]
KeyEnv = Annotated[
    str | None,
    typer.Option("--secret-access-key-env", metavar="VAR", help=f"S3 secret key: {_ENV}."),
]
KeyStdin = Annotated[
    bool, typer.Option("--secret-access-key-stdin", help=f"S3 secret key: {_STDIN}.")
]


@dataclass(frozen=True, slots=True)
class SecretInput:
    """One secret field and the three ways the command line may give it."""

    field: str  # the API's field name, e.g. "token"
    flag: str  # e.g. "--token"
    plain: str | None
    env: str | None
    stdin: bool

    def read(self) -> str | None:
        ways = sum((self.plain is not None, self.env is not None, self.stdin))
        if ways > 1:
            raise typer.BadParameter(
                f"give {self.flag} one way: {self.flag}-stdin, {self.flag}-env or {self.flag}"
            )
        if self.stdin:
            return sys.stdin.readline().rstrip("\r\n")
        if self.env is not None:
            value = os.environ.get(self.env)
            if value is None:
                raise typer.BadParameter(f"{self.flag}-env: ${self.env} is not set")
            return value
        if self.plain is not None:
            render.err.print(
                f"warning: {self.flag} on the command line is visible to other users and "
                f"kept in shell history; use {self.flag}-stdin or {self.flag}-env"
            )
        return self.plain


# The secret fields; each has the options --F, --F-env and --F-stdin (F with dashes).
SECRET_FIELDS = ("token", "password", "secret_access_key")


def read_secrets(params: Mapping[str, Any]) -> dict[str, str]:
    """The secret fields a command's parsed options give; stdin may feed only one of them."""
    inputs = [
        SecretInput(
            field,
            "--" + field.replace("_", "-"),
            params[field],
            params[f"{field}_env"],
            params[f"{field}_stdin"],
        )
        for field in SECRET_FIELDS
    ]
    if sum(i.stdin for i in inputs) > 1:
        raise typer.BadParameter("only one secret can be read from stdin")
    return {i.field: value for i in inputs if (value := i.read()) is not None}


def integrations_table(items: list[IntegrationPublic]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "NAME", "KIND", "DETAILS", "SECRET", "VERSION", "ROTATED", "AGE"):
        table.add_column(column, overflow="fold")
    for i in items:
        details = [i.server and f"server={i.server}", i.username and f"username={i.username}"]
        details += [i.endpoint_url and f"endpoint={i.endpoint_url}", i.region]
        table.add_row(
            str(i.id),
            i.name,
            i.kind.value,
            " ".join(d for d in details if d) or "-",
            "sealed" if i.secret_set else "-",
            str(i.version),
            render.age(i.rotated_at),
            render.age(i.created_at),
        )
    return table


def _show(answer: BaseModel, rows: list[IntegrationPublic], as_json: bool) -> None:
    if as_json:
        render.print_json(answer)
    else:
        render.out.print(integrations_table(rows))


@integrations_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for it (a DNS label).")],
    kind: Annotated[IntegrationKind, typer.Option(help="What it holds.")],
    token: TokenOpt = None,
    token_env: TokenEnv = None,
    token_stdin: TokenStdin = False,
    server: Annotated[str | None, typer.Option(help="Registry host[:port].")] = None,
    username: Annotated[str | None, typer.Option(help="Registry user.")] = None,
    password: PasswordOpt = None,
    password_env: PasswordEnv = None,
    password_stdin: PasswordStdin = False,
    access_key_id: KeyIdOpt = None,
    secret_access_key: KeyOpt = None,
    secret_access_key_env: KeyEnv = None,
    secret_access_key_stdin: KeyStdin = False,
    endpoint_url: Annotated[str | None, typer.Option(help="An S3-compatible server.")] = None,
    region: Annotated[str | None, typer.Option(help="The bucket's region.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Add an integration; its secret is sealed on the server and never shown again."""
    body: dict[str, str] = {"name": name, "kind": kind.value}
    plain = {"server": server, "username": username, "access_key_id": access_key_id}
    plain |= {"endpoint_url": endpoint_url, "region": region}
    body |= {k: v for k, v in plain.items() if v is not None}
    body |= read_secrets(ctx.params)
    with api_client(ctx) as client:
        created = client.create_integration(body)
    _show(created, [created], as_json)


@integrations_app.command("rotate")
def rotate(
    ctx: typer.Context,
    ref: RefArg,
    token: TokenOpt = None,
    token_env: TokenEnv = None,
    token_stdin: TokenStdin = False,
    password: PasswordOpt = None,
    password_env: PasswordEnv = None,
    password_stdin: PasswordStdin = False,
    access_key_id: KeyIdOpt = None,
    secret_access_key: KeyOpt = None,
    secret_access_key_env: KeyEnv = None,
    secret_access_key_stdin: KeyStdin = False,
    as_json: JsonOption = False,
) -> None:
    """Replace the secret (all of it: an S3 integration takes both keys). Endpoints are not
    edited: replicas launched from now on get the new secret."""
    body = read_secrets(ctx.params)
    if access_key_id is not None:
        body["access_key_id"] = access_key_id
    with api_client(ctx) as client:
        rotated = client.rotate_integration(ref, body)
    _show(rotated, [rotated], as_json)


@integrations_app.command("ls")
def list_integrations(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the project's integrations (never their secrets)."""
    with api_client(ctx) as client:
        found = client.list_integrations()
    _show(found, found.items, as_json)


@integrations_app.command("get")
def get(ctx: typer.Context, ref: RefArg, as_json: JsonOption = False) -> None:
    """Show one integration."""
    with api_client(ctx) as client:
        one = client.get_integration(ref)
    _show(one, [one], as_json)


class Deleted(BaseModel):
    deleted: str


@integrations_app.command("rm")
def remove(ctx: typer.Context, ref: RefArg, as_json: JsonOption = False) -> None:
    """Delete an integration (refused while an endpoint's spec names it)."""
    with api_client(ctx) as client:
        client.delete_integration(ref)
    if as_json:
        render.print_json(Deleted(deleted=ref))
    else:
        render.out.print(f"integration {ref} deleted")
