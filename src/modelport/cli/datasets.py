"""Datasets, where async results land (`modelport datasets create|ls|get|rm|objects`)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.table import Table

from modelport.cli import render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption
from modelport.domain.datasets import StorageKind
from modelport.schemas.datasets import DatasetPublic

datasets_app = typer.Typer(
    help="Datasets: where async results land (a local directory or s3://...).",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="The dataset's name.")]


def datasets_table(datasets: list[DatasetPublic]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "NAME", "KIND", "URL", "ENDPOINT URL", "CREDENTIALS", "AGE"):
        table.add_column(column, overflow="fold")
    for d in datasets:
        table.add_row(
            str(d.id),
            d.name,
            d.kind.value,
            d.url,
            d.options.endpoint_url or "-",
            "sealed" if d.has_credentials else "-",
            render.age(d.created_at),
        )
    return table


def _show(answer: BaseModel, rows: list[DatasetPublic], as_json: bool) -> None:
    if as_json:
        render.print_json(answer)
    else:
        render.out.print(datasets_table(rows))


@datasets_app.command("create")
def create(
    ctx: typer.Context,
    name: NameArg,
    url: Annotated[
        str | None,
        typer.Option(
            help="s3://bucket/prefix, or a directory (relative: under the server's "
            "datasets/<project>/; absolute: needs host access). Default: datasets/<project>/NAME."
        ),
    ] = None,
    kind: Annotated[
        StorageKind | None, typer.Option(help="Default: fsspec for a URL, local otherwise.")
    ] = None,
    endpoint_url: Annotated[
        str | None, typer.Option(help="An S3-compatible server, e.g. http://minio:9000.")
    ] = None,
    region: Annotated[str | None, typer.Option(help="The bucket's region.")] = None,
    key: Annotated[
        str | None, typer.Option(envvar="MODELPORT_DATASET_KEY", help="Access key id.")
    ] = None,
    secret: Annotated[
        str | None,
        typer.Option(
            envvar="MODELPORT_DATASET_SECRET",
            help="Secret key (asked for when --key is given without it; kept sealed).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a dataset; credentials are sealed on the server and never shown again."""
    body: dict[str, object] = {"name": name}
    if url is not None:
        body["url"] = url
    if kind is not None:
        body["kind"] = kind.value
    options = {k: v for k, v in {"endpoint_url": endpoint_url, "region": region}.items() if v}
    if options:
        body["options"] = options
    if key is not None:
        if secret is None:
            secret = typer.prompt("secret key", hide_input=True)
        body["credentials"] = {"key": key, "secret": secret}
    with api_client(ctx) as client:
        created = client.create_dataset(body)
    _show(created, [created], as_json)


@datasets_app.command("ls")
def list_datasets(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the project's datasets (never their credentials)."""
    with api_client(ctx) as client:
        found = client.list_datasets()
    _show(found, found.items, as_json)


@datasets_app.command("get")
def get(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """Show one dataset."""
    with api_client(ctx) as client:
        one = client.get_dataset(name)
    _show(one, [one], as_json)


@datasets_app.command("rm")
def remove(ctx: typer.Context, name: NameArg) -> None:
    """Delete a dataset (refused while an endpoint's async config uses it); objects stay."""
    with api_client(ctx) as client:
        client.delete_dataset(name)
    render.out.print(f"dataset {name} deleted")


@datasets_app.command("objects")
def objects(
    ctx: typer.Context,
    name: NameArg,
    key: Annotated[
        str | None, typer.Argument(help="Print this object's bytes instead of listing.")
    ] = None,
    prefix: Annotated[str, typer.Option(help="Only keys starting with this.")] = "",
    limit: Annotated[int, typer.Option(help="At most this many keys.")] = 1000,
    as_json: JsonOption = False,
) -> None:
    """List object keys (e.g. --prefix api/is-7/response/), or print one object."""
    with api_client(ctx) as client:
        if key is not None:
            sys.stdout.buffer.write(client.read_dataset_object(name, key))
            sys.stdout.buffer.flush()
            return
        listed = client.dataset_objects(name, prefix, limit)
    if as_json:
        render.print_json(listed)
        return
    for k in listed.keys:
        render.out.print(k, highlight=False, markup=False)
    if listed.truncated:
        render.out.print(f"... more than {limit} keys; narrow --prefix or raise --limit")
