"""Strings a user sends that end up in argv, environments, file paths, URLs or logs.

A NUL cannot be passed to exec() or setenv(), so a spec holding one is accepted but never
starts; other control characters forge log lines or terminal output. Both are refused at the
edge, with the field named (pydantic puts the field in the error's location).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# C0 controls, DEL and C1 controls. Text also allows tab, newline and carriage return: scripts
# in a command, PEM keys in an env value, a description over several lines.
_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TEXT_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """A description of the first forbidden character in `value` ("U+0000 at 3"), or None."""
    found = (_TEXT_FORBIDDEN if multiline else _LINE_FORBIDDEN).search(value)
    if found is None:
        return None
    return f"U+{ord(found.group()):04X} at {found.start()}"


def check_line(value: str) -> str:
    """`value` unless it holds a control character (tab and newline included)."""
    found = control_character(value)
    if found is not None:
        raise ValueError(f"must not contain control characters (found {found})")
    return value


def check_text(value: str) -> str:
    """`value` unless it holds a control character other than tab, newline, carriage return."""
    found = control_character(value, multiline=True)
    if found is not None:
        raise ValueError(
            f"must not contain control characters other than tab and newline (found {found})"
        )
    return value


Line = Annotated[str, AfterValidator(check_line)]  # names, paths, ids: one line, no controls
Text = Annotated[str, AfterValidator(check_text)]  # argv items, env values, descriptions
