"""JSON booleans are not numbers.

Pydantic's lax mode turns `true` into 1 for an `int` field, so `{"replicas": true}` would scale an
endpoint to one replica. Every request model derives from `RequestModel`, which refuses a
boolean wherever the field does not itself admit one (the error's location names the field).
"""

from __future__ import annotations

import types
from functools import cache
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

_NUMBERS = (int, float)


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types an annotation admits at the top level (Optional/Union/Annotated unwrapped)."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return tuple(m for arg in get_args(annotation) for m in _members(arg))
    if origin is not None and hasattr(annotation, "__metadata__"):  # Annotated[T, ...]
        return _members(get_args(annotation)[0])
    return (annotation,)


def _numeric_only(annotation: Any) -> bool:
    members = _members(annotation)
    return any(m in _NUMBERS for m in members) and not any(m is bool or m is Any for m in members)


@cache
def _numeric_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields that take a number but not a boolean."""
    return frozenset(n for n, f in model.model_fields.items() if _numeric_only(f.annotation))


class RequestModel(BaseModel):
    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, bool) and info.field_name in _numeric_fields(cls):
            raise PydanticCustomError("int_type", "Input should be a number, not a boolean")
        return value
