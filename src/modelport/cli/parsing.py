"""Turning command-line values into spec fields. Bad input is a usage error (exit code 2)."""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from modelport.domain.specs import EngineArgValue

_TRUE = frozenset({"true", "yes", "on"})
_FALSE = frozenset({"false", "no", "off"})


def key_value(raw: str, option: str) -> tuple[str, str]:
    key, sep, value = raw.partition("=")
    if not sep or not key.strip():
        raise typer.BadParameter(f"expected KEY=VALUE, got {raw!r}", param_hint=option)
    return key.strip(), value


def engine_arg_value(raw: str) -> EngineArgValue:
    """ "1024" -> 1024, "0.5" -> 0.5, "true" -> True; anything else stays a string."""
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return raw
    return number if math.isfinite(number) else raw


def engine_args(raw: Iterable[str]) -> dict[str, EngineArgValue]:
    pairs = (key_value(item, "--engine-arg") for item in raw)
    return {key: engine_arg_value(value) for key, value in pairs}


def env_vars(plain: Iterable[str], secret: Iterable[str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for items, option, is_secret in ((plain, "--env", False), (secret, "--secret-env", True)):
        for item in items:
            name, value = key_value(item, option)
            found.append({"name": name, "value": value, "secret": is_secret})
    return found


def command(raw: str) -> list[str]:
    try:
        argv = shlex.split(raw)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--command") from exc
    if not argv:
        raise typer.BadParameter("the command is empty", param_hint="--command")
    return argv


def model_source(raw: str) -> dict[str, str | None]:
    """A path when it exists on disk or names a .gguf file, else a Hugging Face repo id."""
    path = Path(raw).expanduser()
    if path.exists():
        return {"path": str(path.resolve()), "hf_id": None}
    if raw.lower().endswith(".gguf"):
        return {"path": str(path.absolute()), "hf_id": None}
    return {"hf_id": raw, "path": None}


def given(**values: Any) -> dict[str, Any]:
    """The options that were given (not None), for spec fields left to the server otherwise."""
    return {key: value for key, value in values.items() if value is not None}


def merge_env(current: list[dict[str, Any]], changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Current variables with `changes` replacing same-named ones (masked secrets round-trip)."""
    by_name = {str(v["name"]): v for v in current}
    for change in changes:
        by_name[str(change["name"])] = change
    return list(by_name.values())
