"""A "not found" tells the user which listing shows what exists, by the kind it names."""

from __future__ import annotations

import pytest

from modelport.cli.context import error_hint
from modelport.sdk.errors import NotFoundError


@pytest.mark.parametrize(
    ("message", "command"),
    [
        ("endpoint 'model-x' not found", "modelport ls"),
        ("integration hf-main not found", "modelport integrations ls"),
        ("model smol not found", "modelport models ls"),
        ("dataset results not found", "modelport datasets ls"),
        ("invocation 12 not found", "modelport invocations ls NAME"),
        ("not found", "modelport ls"),
    ],
)
def test_the_hint_names_the_listing_of_what_was_not_found(message: str, command: str) -> None:
    assert error_hint(NotFoundError(404, "not_found", message)) == (
        f"list what exists with `{command}`"
    )
