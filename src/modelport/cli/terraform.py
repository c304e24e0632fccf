"""`modelport terraform install`: make this package's Terraform provider findable by the user's
Terraform, offline, and print the provider blocks to paste (docs/terraform.md).

Nothing here talks to the server: the API endpoint printed is the CLI's configured server (or
`--api-endpoint`), and no token is ever printed (the provider reads it from the environment)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import urlsplit

import typer
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text

from modelport.cli import render
from modelport.cli.context import EXIT_ERROR, options
from modelport.cli.endpoints import JsonOption
from modelport.sdk.config import resolve_base_url
from modelport.terraform import install as mirror
from modelport.terraform.provider import NATIVE_SOURCE, TIR_SOURCE

terraform_app = typer.Typer(
    help="Use Modelport from Terraform (TIR's tir_model_endpoint and native resources).",
    no_args_is_help=True,
)

# The TIR routes TIR's provider calls hang under this path of the server (its api_endpoint).
TIR_PATH = "/tir/terraform"
# First line of a CLI configuration this command wrote: only such a file is ever overwritten.
MARKER = "# written by `modelport terraform install`; TF_CLI_CONFIG_FILE points here\n"
_VERSION = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


class Executable(BaseModel):
    source: str
    version: str
    platform: str
    path: str


class Installed(BaseModel):
    """What `install` did, for people (rendered) and scripts (`--json`)."""

    directory: str
    implied_mirror: bool  # Terraform finds it with no CLI configuration at all
    executables: list[Executable]
    cli_config: str | None
    cli_config_written: bool
    api_endpoint: str
    tir_provider_block: str
    native_provider_block: str


DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir",
        help="Mirror directory (default: Terraform's implied local mirror, "
        "~/.local/share/terraform/plugins, read with no configuration).",
    ),
]
VersionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--provider-version",
        help=f"Version(s) to offer, e.g. the one your configuration pins "
        f"(default {mirror.DEFAULT_VERSION}); repeatable.",
    ),
]
CliConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--cli-config",
        help="Also write a Terraform CLI configuration taking these providers from the mirror; "
        "use it with TF_CLI_CONFIG_FILE.",
    ),
]
EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--api-endpoint",
        help="The server's URL as Terraform reaches it (default: the CLI's server, "
        "MODELPORT_URL / --url).",
    ),
]


@terraform_app.command("install")
def install(
    ctx: typer.Context,
    directory: DirOption = None,
    versions: VersionOption = None,
    cli_config: CliConfigOption = None,
    api_endpoint: EndpointOption = None,
    as_json: JsonOption = False,
) -> None:
    """Install the provider for Terraform (idempotent) and print the provider blocks."""
    chosen = tuple(versions or (mirror.DEFAULT_VERSION,))
    bad = [v for v in chosen if not _VERSION.match(v)]
    if bad:
        _fail(f"--provider-version: {bad[0]!r} is not a version like {mirror.DEFAULT_VERSION}")
    server = _server_url(api_endpoint or options(ctx).url)
    target = (directory or mirror.default_directory()).expanduser().absolute()
    if target.exists() and not target.is_dir():
        _fail(f"--dir: {target} exists and is not a directory")
    written = False
    if cli_config is not None:
        cli_config = cli_config.expanduser().absolute()
        written = _write_cli_config(cli_config, mirror.cli_config(target))
    done = mirror.install(target, chosen)
    result = Installed(
        directory=str(target),
        implied_mirror=target == mirror.default_directory().absolute(),
        executables=[_executable(path, target) for path in done.executables],
        cli_config=str(cli_config) if cli_config else None,
        cli_config_written=written,
        api_endpoint=server + TIR_PATH,
        tir_provider_block=tir_block(server + TIR_PATH),
        native_provider_block=native_block(server),
    )
    if as_json:
        render.print_json(result)
    else:
        _show(result)


def tir_block(api_endpoint: str) -> str:
    return (
        "terraform {\n"
        "  required_providers {\n"
        '    tir = { source = "e2eterraformprovider/tir" }\n'
        "  }\n"
        "}\n\n"
        'provider "tir" {\n'
        f'  api_endpoint = "{api_endpoint}"\n'
        "  # auth_token = a Modelport API token; left out, it is read from TIR_AUTH_TOKEN or\n"
        "  #              MODELPORT_TOKEN (keep it out of .tf files)\n"
        "  # api_key    = accepted as TIR's provider has it; Modelport does not use it\n"
        "}\n"
    )


def native_block(server: str) -> str:
    return (
        "terraform {\n"
        "  required_providers {\n"
        f'    modelport = {{ source = "{NATIVE_SOURCE}" }}\n'
        "  }\n"
        "}\n\n"
        'provider "modelport" {\n'
        f'  api_endpoint = "{server}"\n'
        "  # auth_token: read from MODELPORT_TOKEN when left out\n"
        "}\n"
    )


def _server_url(given: str | None) -> str:
    """The server's origin: `--api-endpoint`, else the CLI's server. A TIR base that already
    ends in /tir/terraform is taken as given."""
    url = resolve_base_url(given, os.environ).removesuffix(TIR_PATH).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        _fail(f"--api-endpoint: {url!r} is not an http(s) URL, e.g. http://127.0.0.1:8080")
    return url


def _write_cli_config(path: Path, body: str) -> bool:
    """Writes the file unless it already says exactly this; never overwrites a file this command
    did not write (it may be the user's own ~/.terraformrc). True when written."""
    text = MARKER + body
    if path.exists():
        current = path.read_text(errors="replace")
        if current == text:
            return False
        if not current.startswith(MARKER):
            render.err.print(Text(body.rstrip()))
            _fail(
                f"--cli-config: {path} exists and was not written by modelport; add the block "
                "above to it yourself, or choose another path"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return True


def _executable(path: Path, directory: Path) -> Executable:
    # HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/file, relative to the mirror
    host, namespace, kind, version, platform = path.relative_to(directory).parts[:5]
    source = f"{host}/{namespace}/{kind}"
    return Executable(source=source, version=version, platform=platform, path=str(path))


def _show(result: Installed) -> None:
    table = Table(box=None, header_style="bold")
    for column in ("source", "version", "platform"):
        table.add_column(column)
    for e in result.executables:  # the paths follow from these (and are in --json)
        table.add_row(e.source, e.version, e.platform)
    render.out.print(f"provider mirror: {result.directory}")
    render.out.print(table)
    if result.cli_config:
        state = "written" if result.cli_config_written else "unchanged"
        render.out.print(f"CLI configuration ({state}): {result.cli_config}")
        render.out.print(f"  export TF_CLI_CONFIG_FILE={result.cli_config}")
    elif result.implied_mirror:
        render.out.print("Terraform reads this directory with no configuration (implied mirror).")
    else:
        render.err.print(
            Text(
                "Terraform does not read this directory by itself: add --cli-config PATH and "
                "export TF_CLI_CONFIG_FILE=PATH.",
                "yellow",
            )
        )
    render.out.print("\n# TIR configurations (tir_model_endpoint): replace the provider block with")
    render.out.print(result.tir_provider_block)
    render.out.print("# Native resources (modelport_endpoint, modelport_token):\n")
    render.out.print(result.native_provider_block)
    # Tried: `init -upgrade` keeps failing while the same version is selected; `providers
    # lock` adds this build's checksum beside TIR's, so the lock file then takes either.
    platform = result.executables[0].platform
    render.err.print(
        Text(
            "hint: if `terraform init` says the local package doesn't match the checksums in "
            ".terraform.lock.hcl (TIR's registry build), run once: terraform providers lock "
            f"-fs-mirror={result.directory} -platform={platform} {TIR_SOURCE.split('/', 1)[1]}",
            "yellow",
        )
    )


def _fail(message: str) -> NoReturn:
    render.err.print(Text(f"error: {message}", style="bold red"))
    raise typer.Exit(EXIT_ERROR)
