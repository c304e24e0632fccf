"""`modelport deploy`: create an endpoint, watch it come up, show how to call it."""

from __future__ import annotations

import json
import shlex
from typing import Annotated, Any

import typer
from rich.text import Text

from modelport.cli import parsing, render
from modelport.cli.context import api_client
from modelport.cli.progress import ReadyProgress
from modelport.domain.specs import Framework, PullPolicy, RuntimeKind
from modelport.schemas.native import EndpointCreated
from modelport.sdk import Client, EndpointNotReadyError

DEFAULT_TIMEOUT = 900.0


def deploy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Endpoint name (a DNS label).")],
    framework: Annotated[Framework, typer.Option(help="Engine that serves the model.")],
    model: Annotated[
        str | None, typer.Option(help="A local path (GGUF file or dir) or a Hugging Face id.")
    ] = None,
    command: Annotated[
        str | None, typer.Option(help="Custom command, e.g. 'python -m app --port {port}'.")
    ] = None,
    runtime: Annotated[
        RuntimeKind | None,
        typer.Option(
            help="Where replicas run (default: the server's, usually local).",
            case_sensitive=False,
        ),
    ] = None,
    image: Annotated[
        str | None, typer.Option(help="Container image (custom engines on the docker runtime).")
    ] = None,
    pull_policy: Annotated[
        PullPolicy | None,
        typer.Option(help="When the docker runtime pulls the image.", case_sensitive=False),
    ] = None,
    registry_integration: Annotated[
        str | None,
        typer.Option(help="Integration (name or id) whose registry login pulls a private image."),
    ] = None,
    model_id: Annotated[
        str | None, typer.Option(help="A model of the model repository (name or id).")
    ] = None,
    integration: Annotated[
        str | None,
        typer.Option(help="Integration (name or id) whose credential fetches the model."),
    ] = None,
    replicas: Annotated[int, typer.Option(help="Number of replicas.")] = 1,
    engine_arg: Annotated[
        list[str] | None, typer.Option(help="Engine argument KEY=VALUE (repeatable).")
    ] = None,
    extra_arg: Annotated[
        list[str] | None, typer.Option(help="Argument appended verbatim (repeatable).")
    ] = None,
    env: Annotated[list[str] | None, typer.Option(help="Environment KEY=VALUE.")] = None,
    secret_env: Annotated[
        list[str] | None, typer.Option(help="Secret environment KEY=VALUE (never shown).")
    ] = None,
    cpu: Annotated[float | None, typer.Option(help="CPU cores per replica.")] = None,
    memory_mb: Annotated[int | None, typer.Option(help="Memory per replica in MB.")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs per replica.")] = None,
    gpu_type: Annotated[str | None, typer.Option(help="GPU type, e.g. H100-80GB.")] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(help="In-flight requests per replica.")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Wait until ready.")] = True,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for ready.")] = DEFAULT_TIMEOUT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Deploy a model as an endpoint and wait until it serves."""
    spec: dict[str, Any] = {"framework": framework.value, "replicas": replicas}
    source = parsing.model_source(model) if model is not None else {}
    source.update(
        parsing.given(
            image=image,
            model_id=model_id,
            integration=integration,
            registry_integration=registry_integration,
        )
    )
    if source:
        spec["model"] = source
    if runtime is not None:
        spec["runtime"] = runtime.value
    if pull_policy is not None:
        spec["image_pull_policy"] = pull_policy.value
    if command is not None:
        spec["command"] = parsing.command(command)
    if engine_arg:
        spec["engine_args"] = parsing.engine_args(engine_arg)
    if extra_arg:
        spec["extra_args"] = list(extra_arg)
    if env or secret_env:
        spec["env"] = parsing.env_vars(env or [], secret_env or [])
    resources = parsing.given(cpu=cpu, memory_mb=memory_mb, gpu_count=gpus, gpu_type=gpu_type)
    if resources:
        spec["resources"] = resources
    if max_concurrency is not None:
        spec["max_concurrency"] = max_concurrency

    with api_client(ctx) as client:
        # The server validates the spec, so its errors name the field ("spec.replicas: ...").
        created = client.create_endpoint(name, spec)
        if not as_json:
            show_access(created)  # before waiting: the key is shown once, even if the wait fails
        result = created
        if wait:
            try:
                with ReadyProgress(client, name) as progress:
                    ready = client.wait_ready(name, timeout=timeout, on_progress=progress.update)
            except EndpointNotReadyError:
                if as_json:
                    render.print_json(created)
                raise
            result = EndpointCreated(**dict(ready), api_key=created.api_key)
    if as_json:
        render.print_json(result)
        return
    if wait:
        render.out.print(Text(f"Endpoint {name!r} is ready.", style="bold green"))
    else:
        render.out.print(f"Deploying in the background; watch it with `modelport get {name}`.")
    show_examples(client, result)


def show_access(endpoint: EndpointCreated) -> None:
    name = endpoint.name
    render.out.print(f"Endpoint {name!r} created.")
    render.out.print(f"URL:     {endpoint.url}")
    if endpoint.api_key:
        render.out.print(f"API key: {endpoint.api_key}")
        render.out.print(
            Text("         shown once: store it now, it cannot be retrieved again.", "yellow")
        )
    else:
        render.out.print(
            "API key: not shown (the endpoint already existed); create one with "
            f"`modelport token create {name}-key --role viewer --endpoint {name}`"
        )


def show_examples(client: Client, endpoint: EndpointCreated) -> None:
    name = endpoint.name
    shown_key = endpoint.api_key or "$MODELPORT_TOKEN"
    render.out.print()
    render.out.print(Text("curl:", style="bold"))
    render.out.print(curl_example(endpoint.url, name, shown_key))
    render.out.print()
    render.out.print(Text("openai-python:", style="bold"))
    render.out.print(openai_example(client.openai_base_url(name), name, shown_key))


def curl_example(base_url: str, name: str, key: str) -> str:
    body = json.dumps({"model": name, "messages": [{"role": "user", "content": "Hello!"}]})
    auth = f"Authorization: Bearer {key}"
    return (
        f"curl {base_url}/chat/completions \\\n"
        f'  -H "{auth}" -H "Content-Type: application/json" \\\n'
        f"  -d {shlex.quote(body)}"
    )


def openai_example(base_url: str, name: str, key: str) -> str:
    api_key = f'"{key}"' if not key.startswith("$") else 'os.environ["MODELPORT_TOKEN"]'
    return (
        "from openai import OpenAI\n"
        f'client = OpenAI(base_url="{base_url}", api_key={api_key})\n'
        "reply = client.chat.completions.create(\n"
        f'    model="{name}", messages=[{{"role": "user", "content": "Hello!"}}]\n'
        ")\n"
        "print(reply.choices[0].message.content)"
    )
