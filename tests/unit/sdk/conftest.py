from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.sdk.live_server import LiveServer, live_server

MODELPORT_VARIABLES = ("MODELPORT_URL", "MODELPORT_TOKEN", "MODELPORT_HOST", "MODELPORT_PORT")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MODELPORT_* from the machine, and a home without an admin token file."""
    for name in MODELPORT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MODELPORT_HOME", str(tmp_path / "client-home"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path) as running:
        yield running
