"""The model repository (`modelport models upload|ls|get|rm`): upload a file or a directory
as a model, chunked and resumable, then mark it ready for endpoints' model.model_id."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from modelport.cli import render
from modelport.cli.context import api_client
from modelport.cli.endpoints import JsonOption
from modelport.domain.models import ModelStatus
from modelport.schemas.models import ModelPublic
from modelport.sdk import Client
from modelport.sdk.errors import NotFoundError

models_app = typer.Typer(
    help="The model repository: upload files as a model, use it as model.model_id.",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="The model's name.")]


def models_table(models: list[ModelPublic]) -> Table:
    table = Table(box=None, header_style="bold")
    for column in ("ID", "NAME", "STATUS", "FILES", "SIZE", "CONTENT KEY", "AGE"):
        table.add_column(column, overflow="fold")
    for m in models:
        table.add_row(
            str(m.id),
            m.name,
            m.status.value,
            str(len(m.files)),
            _size(m.total_size),
            (m.content_key or "-")[:12],
            render.age(m.created_at),
        )
    return table


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def _files(source: Path) -> list[tuple[Path, str]]:
    """(file, path in the model): a file as its name, a directory's files by relative path."""
    if source.is_file():
        return [(source, source.name)]
    if not source.is_dir():
        raise typer.BadParameter(f"{source} is neither a file nor a directory")
    found = [
        (f, f.relative_to(source).as_posix()) for f in sorted(source.rglob("*")) if f.is_file()
    ]
    if not found:
        raise typer.BadParameter(f"{source} holds no files")
    return found


def _uploading(client: Client, name: str, description: str) -> ModelPublic:
    """The model to upload into: created when missing; a READY one is refused (its files
    are fixed)."""
    try:
        model = client.get_model(name)
    except NotFoundError:
        return client.create_model(name, description)
    if model.status is ModelStatus.READY:
        render.err.print(
            f"error: model {name} is ready already; `modelport models rm {name}` first"
        )
        raise typer.Exit(1)
    return model


@models_app.command("upload")
def upload(
    ctx: typer.Context,
    name: NameArg,
    source: Annotated[Path, typer.Argument(help="A file, or a directory uploaded whole.")],
    description: Annotated[str, typer.Option(help="Shown in listings.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Upload FILE_OR_DIR as model NAME and mark it ready. Run it again after an interruption:
    each file resumes where the server's copy ends, and the sha256 of each is checked."""
    files = _files(source)
    total = sum(f.stat().st_size for f, _ in files)
    with api_client(ctx) as client:
        _uploading(client, name, description)
        with Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=render.err,
            disable=as_json,
        ) as bar:
            task = bar.add_task(f"uploading {name}", total=total)
            before = 0

            def show(done: int, _size: int) -> None:
                bar.update(task, completed=before + done)

            for file, path in files:
                bar.update(task, description=path)
                client.upload_file(name, file, path, progress=show)
                before += file.stat().st_size
        ready = client.mark_model_ready(name)
    if as_json:
        render.print_json(ready)
    else:
        render.out.print(models_table([ready]))


@models_app.command("ls")
def list_models(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the project's models."""
    with api_client(ctx) as client:
        found = client.list_models()
    if as_json:
        render.print_json(found)
    else:
        render.out.print(models_table(found.items))


@models_app.command("get")
def get(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """Show one model with its files (size and sha256)."""
    with api_client(ctx) as client:
        model = client.get_model(name)
    if as_json:
        render.print_json(model)
        return
    render.out.print(models_table([model]))
    for f in model.files:
        render.out.print(f"  {f.path}  {_size(f.size)}  sha256:{f.sha256}")


@models_app.command("rm")
def remove(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """Delete a model and its files (refused while an endpoint's model.model_id names it)."""
    with api_client(ctx) as client:
        client.delete_model(name)
    if as_json:
        render.print_json(Deleted(deleted=name))
    else:
        render.out.print(f"model {name} deleted")


class Deleted(BaseModel):
    deleted: str  # the model's name
