"""The `modelport` command line: Typer commands over the SDK, Rich output."""

from __future__ import annotations

from typing import Annotated

import typer

from modelport.cli import (
    autoscale,
    datasets,
    deploy,
    endpoints,
    integrations,
    invocations,
    models,
    observe,
    projects,
    replicas,
    server_cmd,
    terraform,
    tokens,
    usage,
)
from modelport.cli.context import Options

app = typer.Typer(
    name="modelport",
    help="Self-hosted inference endpoints: deploy a model, get an OpenAI-compatible URL.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold tokens
    add_completion=False,
)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[
        str | None,
        typer.Option(envvar="MODELPORT_URL", help="Server URL (default: http://127.0.0.1:8080)."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="MODELPORT_TOKEN",
            show_envvar=True,
            help="API token (default: ~/.modelport/admin-token on the server host).",
        ),
    ] = None,
) -> None:
    ctx.obj = Options(url=url, token=token)


app.command("server")(server_cmd.server)
app.command("deploy")(deploy.deploy)
app.command("ls")(endpoints.ls)
app.command("get")(endpoints.get)
app.command("patch")(endpoints.patch)
app.command("stop")(endpoints.stop)
app.command("start")(endpoints.start)
app.command("restart")(endpoints.restart)
app.command("delete")(endpoints.delete)
app.command("autoscale")(autoscale.autoscale)
app.command("usage")(usage.usage)
app.add_typer(replicas.replicas_app, name="replicas")
app.command("events")(observe.events)
app.command("logs")(observe.logs)
app.command("whoami")(tokens.whoami)
app.add_typer(tokens.token_app, name="token")
app.add_typer(projects.projects_app, name="projects")
app.add_typer(datasets.datasets_app, name="datasets")
app.add_typer(invocations.invocations_app, name="invocations")
app.add_typer(integrations.integrations_app, name="integrations")
app.add_typer(models.models_app, name="models")
app.add_typer(terraform.terraform_app, name="terraform")


if __name__ == "__main__":
    app()
