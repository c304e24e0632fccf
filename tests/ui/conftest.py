"""The dashboard's browser harness: one real server with a Ready llama.cpp endpoint `chat`,
Debian's chromium driven by Playwright (scripts/setup-ui.sh installs both; nothing is
downloaded), a page that fails its test on any console or page error.

Shared for the whole session: the server and the browser start once (CI time is tight); each
test gets a fresh browser context (its own cookies) on that browser.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import need
from tests.support.server import ServerProcess, kill_process_groups, wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHAT = "chat"  # the endpoint every UI test may chat with
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "images"
# Chromium logs every 4xx/5xx answer to fetch() as a console error. The dashboard expects 4xx
# answers (a wrong token, a field error) and shows them; a 5xx is a bug and still fails.
_EXPECTED_4XX = "Failed to load resource: the server responded with a status of 4"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def llamacpp_spec(model: Path, replicas: int = 1) -> dict[str, Any]:
    return {
        "framework": "llamacpp", "model": {"path": str(model)}, "replicas": replicas,
        "engine_args": {"n_ctx": 512},
    }  # fmt: skip


def wait_phase(srv: ServerProcess, name: str, phase: str, timeout: float = 180) -> None:
    """Poll the API until endpoint `name` reports `phase` (deadline, no fixed sleeps)."""

    def reached() -> bool:
        with srv.api() as api:
            resp = api.get(f"/api/v1/endpoints/{name}")
        return resp.status_code == 200 and resp.json()["phase"] == phase

    assert wait_until(reached, timeout=timeout), f"{name} did not reach {phase} in {timeout} s"


@pytest.fixture(scope="session")
def ui_server(
    tmp_path_factory: pytest.TempPathFactory, smollm2_path: Path
) -> Iterator[ServerProcess]:
    """One real `modelport server` with a Ready llama.cpp endpoint `chat` (SmolLM2)."""
    srv = ServerProcess(tmp_path_factory.mktemp("ui-home"))
    srv.start()
    pids: list[int] = []
    try:
        with srv.api() as api:
            created = api.post(
                "/api/v1/endpoints", json={"name": CHAT, "spec": llamacpp_spec(smollm2_path)}
            )
        assert created.status_code == 201, created.text
        wait_phase(srv, CHAT, "ready")
        yield srv
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            pids = srv.replica_pids()
            with srv.api() as api:
                for item in api.get("/api/v1/endpoints").json()["items"]:
                    api.delete(f"/api/v1/endpoints/{item['name']}")
            wait_until(lambda: not srv.replica_pids(), timeout=60)
        srv.stop()
        kill_process_groups(pids)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through the playwright package's bundled driver.

    Per module, not per session: the sync API keeps its event loop running in this thread
    while it is open, and every pytest-asyncio test after it in the same process would fail
    with "Runner.run() cannot be called from a running event loop"."""
    need(
        importlib.util.find_spec("playwright") is not None,
        "the playwright package is not installed (scripts/setup-ui.sh)",
    )
    need(
        CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup-ui.sh)"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Any, ui_server: ServerProcess) -> Iterator[Any]:
    """A fresh context (no cookies) and page on the server; the test fails on any console
    error or uncaught page error."""
    context = browser.new_context(
        base_url=ui_server.base_url, viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(15_000)
    new_page = context.new_page()
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith(_EXPECTED_4XX):
            errors.append(f"console.error: {message.text}")

    new_page.on("console", on_console)
    new_page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    try:
        yield new_page
    finally:
        context.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


SignIn = Callable[..., Any]


@pytest.fixture
def signed_in(ui_server: ServerProcess) -> SignIn:
    """`signed_in(page, token=None)`: sign in through the real form (default: the admin token)
    and wait for the endpoints page; returns the page."""

    def sign_in(page: Any, token: str | None = None) -> Any:
        page.goto("/ui/")
        page.get_by_label("API token").fill(token or ui_server.admin_token)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/ui/#/endpoints")
        page.get_by_role("heading", name="Endpoints").wait_for()
        return page

    return sign_in


@pytest.fixture(scope="session")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Any, str], Path]:
    """`shoot(page, name)`: a screenshot to docs/images/ui-<name>.png when
    MODELPORT_UPDATE_SCREENSHOTS=1 (the lead commits them), else to a temporary folder."""
    update = os.environ.get("MODELPORT_UPDATE_SCREENSHOTS") == "1"
    folder = SCREENSHOTS if update else tmp_path_factory.mktemp("screenshots")

    def take(page: Any, name: str) -> Path:
        path = folder / f"ui-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def api_as(srv: ServerProcess, token: str) -> httpx.Client:
    """The native API with another token (e.g. a second project's)."""
    return httpx.Client(
        base_url=srv.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
