"""Read the vendor API documents the dialects follow (copies kept in tests/fixtures/seeds/)."""

from __future__ import annotations

import re
from pathlib import Path

SEEDS_DIR = Path(__file__).parents[2] / "fixtures" / "seeds"


def seed_text(number: str) -> str:
    """The text of seed `number` ("000", "001", ...): the vendor's own document, unedited."""
    found = sorted(SEEDS_DIR.glob(f"{number}_*.txt"))
    assert found, f"vendor document {number} missing from {SEEDS_DIR}"
    return found[0].read_text(encoding="utf-8")


def tir_table_rows() -> list[tuple[str, str, str]]:
    """Seed 000's framework table: (display name, framework value, model source) per row."""
    rows = re.findall(r"\| \d+ \| ([^|]+?) \| ([^|]+?) \| ([^|]+?) \|", seed_text("000"))
    return [(name, value, source) for name, value, source in rows]


def terraform_frameworks() -> list[str]:
    """Seed 001's "Supported Frameworks" values."""
    section = _section(seed_text("001"), "## Supported Frameworks", "## Supported Models")
    return re.findall(r"- [A-Z0-9_]+ = '([^']+)'", section)


def terraform_models(heading: str, next_heading: str) -> list[str]:
    """A "Supported Models for ..." list of seed 001, as written."""
    return re.findall(r"- `([^`]+)`", _section(seed_text("001"), heading, next_heading))


def terraform_versions(options: str) -> list[str]:
    """A "Versions for <options>" list of seed 001, e.g. options="PytorchServerOptions"."""
    text = seed_text("001")
    start = text.index(f"### Versions for {options}")
    end = text.find("###", start + 4)
    return re.findall(r"- '([^']+)'", text[start : end if end != -1 else len(text)])


def _section(text: str, heading: str, next_heading: str) -> str:
    start = text.index(heading)
    return text[start : text.index(next_heading, start + len(heading))]
