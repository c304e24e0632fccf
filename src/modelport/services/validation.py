"""Pydantic validation errors as (field path, message) pairs that name the culprit.

Our validators prefix their messages with the field they are about ("command: ..."), because a
model validator's error is located at the model, not at the field. This turns both shapes into
one dotted path such as "spec.command" or "spec.env.0.name".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from modelport.domain.errors import InvalidSpec

_FIELD_PREFIX = re.compile(r"^([A-Za-z_][A-Za-z0-9_.]*): (.+)$", re.DOTALL)
_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str | None
    message: str  # starts with the field path when there is one


def field_errors(
    errors: Iterable[Mapping[str, Any]], *, prefix: Sequence[str] = ()
) -> list[FieldError]:
    """One FieldError per pydantic error; `prefix` is prepended to every location."""
    return [_one(error, prefix) for error in errors]


def invalid_spec(exc: ValidationError, *, prefix: Sequence[str] = ("spec",)) -> InvalidSpec:
    """An InvalidSpec naming the first failing field (all of them in the message)."""
    found = field_errors(exc.errors(include_url=False), prefix=prefix)
    first = found[0] if found else FieldError(".".join(prefix) or None, "invalid value")
    message = "; ".join(e.message for e in found) or first.message
    return InvalidSpec(message, field=first.field)


def _one(error: Mapping[str, Any], prefix: Sequence[str]) -> FieldError:
    loc = [*prefix, *(str(part) for part in error.get("loc", ()))]
    message = str(error.get("msg", "invalid value"))
    for noise in _PYDANTIC_PREFIXES:
        message = message.removeprefix(noise)
    named = _FIELD_PREFIX.match(message)
    if named is not None:
        inner, message = named.group(1), named.group(2)
        # "name: ..." at loc (..., "name") names the same field; at a model it names a child.
        if not loc or loc[-1] != inner.split(".")[-1]:
            loc = [*loc, *inner.split(".")]
    field = ".".join(loc) or None
    return FieldError(field, f"{field}: {message}" if field else message)
