"""`modelport server`: run API, gateway and controller in this process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from modelport.settings import Settings


def server(
    host: Annotated[str | None, typer.Option(help="Address to listen on (MODELPORT_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (MODELPORT_PORT).")] = None,
    home: Annotated[
        Path | None, typer.Option(help="State directory (MODELPORT_HOME, ~/.modelport).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (MODELPORT_DATABASE_URL; SQLite in home).")
    ] = None,
    gateway_workers: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Processes serving the port (MODELPORT_GATEWAY_WORKERS; 0, the default: one "
            "per core, at most 8).",
        ),
    ] = None,
) -> None:
    """Run the Modelport server until Ctrl-C (flags override MODELPORT_* variables)."""
    overrides: dict[str, Any] = {
        key: value
        for key, value in (
            ("host", host),
            ("port", port),
            ("home", home.expanduser() if home else None),
            ("database_url", database_url),
            ("gateway_workers", gateway_workers),
        )
        if value is not None
    }
    settings = Settings(**overrides)
    # Imported here: every other command stays light and never loads the server stack.
    from modelport.server.main import serve

    serve(settings)
