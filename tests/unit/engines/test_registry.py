"""Every framework has an adapter, and each says plainly when its engine is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from modelport.domain.specs import Framework
from modelport.engines.registry import adapters, get_adapter


def test_every_framework_has_its_adapter() -> None:
    registered = adapters()

    assert set(registered) == set(Framework)
    for framework in Framework:
        assert get_adapter(framework).framework is framework


@pytest.mark.parametrize(
    ("framework", "install"),
    [
        (Framework.VLLM, "pip install vllm"),
        (Framework.TRITON, "tritonserver"),
        (Framework.TORCHSERVE, "pip install torchserve"),
        (Framework.TENSORRT, "pip install tensorrt_llm"),
    ],
)
def test_a_missing_engine_binary_is_explained(
    framework: Framework, install: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH

    why = get_adapter(framework).available()

    assert why is not None and "not installed on this host" in why and install in why


@pytest.mark.parametrize(
    ("framework", "module"), [(Framework.SGLANG, "sglang"), (Framework.DYNAMO, "dynamo")]
)
def test_a_missing_engine_module_is_explained(framework: Framework, module: str) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")

    why = get_adapter(framework).available()

    assert why is not None and repr(module) in why and "pip install" in why
