"""Command-line values to spec fields, and following a sliding log tail."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from modelport.cli.observe import new_log_text
from modelport.cli.parsing import engine_arg_value, engine_args, model_source


@pytest.mark.parametrize(
    ("raw", "value"),
    [("1024", 1024), ("-3", -3), ("0.5", 0.5), ("true", True), ("False", False),
     ("chatml", "chatml"), ("nan", "nan"), ("", "")],
)  # fmt: skip
def test_engine_arg_values_are_typed(raw: str, value: object) -> None:
    parsed = engine_arg_value(raw)
    assert parsed == value and type(parsed) is type(value)


def test_engine_arg_values_keep_equals_signs() -> None:
    assert engine_args(["stop=a=b"]) == {"stop": "a=b"}


def test_engine_arg_without_equals_is_rejected() -> None:
    with pytest.raises(typer.BadParameter):
        engine_args(["n_ctx"])


def test_model_is_a_path_when_it_exists_or_is_gguf(tmp_path: Path) -> None:
    weights = tmp_path / "weights"
    weights.mkdir()
    assert model_source(str(weights)) == {"path": str(weights), "hf_id": None}
    assert model_source("missing.gguf")["path"] == str(Path("missing.gguf").absolute())
    assert model_source("HuggingFaceTB/SmolLM2-135M-Instruct") == {
        "hf_id": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "path": None,
    }


def test_follow_prints_only_new_log_text() -> None:
    assert new_log_text("", "a\nb\n") == "a\nb\n"
    assert new_log_text("a\nb\n", "a\nb\n") == ""
    assert new_log_text("a\nb\n", "a\nb\nc\n") == "c\n"
    window = "".join(f"line {i}\n" for i in range(200))
    slid = window[len(window) // 2 :] + "next\n"  # the tail window moved on
    assert new_log_text(window, slid) == "next\n"
    assert new_log_text("old\n", "all new\n") == "all new\n"  # the gap is shown whole
