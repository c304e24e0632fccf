"""Engine flags: engine_args rendered in each engine's spelling, and the flags, extra_args and
env variables Modelport reserves (it sets them itself: address, model, the replica's key)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from enum import Enum

from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import EndpointSpec, EngineArgValue

_FLAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*")


class FlagCase(Enum):
    """How an engine spells multi-word flags."""

    SNAKE = "snake"  # --max_batch_size (llama.cpp server, trtllm-serve)
    KEBAB = "kebab"  # --max-model-len (vLLM, SGLang, Triton)


class BoolStyle(Enum):
    """How an engine takes a boolean flag."""

    VALUE = "value"  # --flag true / --flag false
    SWITCH = "switch"  # --flag when true; left out when false
    NEGATABLE = "negatable"  # --flag / --no-flag


def flag_name(key: str, case: FlagCase) -> str:
    """The flag's name without dashes, in the engine's spelling."""
    return key.replace("-", "_") if case is FlagCase.SNAKE else key.replace("_", "-")


def engine_flags(
    args: Mapping[str, EngineArgValue],
    *,
    case: FlagCase,
    bools: BoolStyle,
    reserved: Collection[str] = (),
    known: Collection[str] | None = None,
    engine: str,
    joined: bool = False,
) -> list[str]:
    """engine_args rendered as `--key value` (or `--key=value` when `joined`).

    `reserved` names flags Modelport sets itself (host, port, model); `known`, when given, is
    every flag the engine accepts. Both are spelled in the engine's case.
    """
    out: list[str] = []
    for key, value in args.items():
        name = checked_flag(key, case, reserved=reserved, known=known, engine=engine)
        if isinstance(value, bool):
            out.extend(_bool_flag(name, value, bools, joined))
        elif joined:
            out.append(f"--{name}={value}")
        else:
            out.extend([f"--{name}", str(value)])
    return out


def checked_flag(
    key: str,
    case: FlagCase,
    *,
    reserved: Collection[str] = (),
    known: Collection[str] | None = None,
    engine: str,
) -> str:
    field = f"engine_args.{key}"
    if not _FLAG_NAME.fullmatch(key):
        raise InvalidSpec(
            f"{field}: not a valid flag name (letters, digits, '-' or '_', without the "
            "leading dashes)",
            field=field,
        )
    name = flag_name(key, case)
    hit = reserved_flag_hit(name, reserved)
    if hit is not None:
        raise InvalidSpec(
            f"{field}: Modelport sets --{hit} itself (from the spec, the replica's address "
            "and key); remove it",
            field=field,
        )
    if known is not None and name not in known:
        raise InvalidSpec(
            f"{field}: {engine} has no flag --{name} (put flags of newer versions in extra_args)",
            field=field,
        )
    return name


def _bool_flag(name: str, value: bool, style: BoolStyle, joined: bool) -> list[str]:
    if style is BoolStyle.VALUE:
        text = "true" if value else "false"
        return [f"--{name}={text}"] if joined else [f"--{name}", text]
    if value:
        return [f"--{name}"]
    return [f"--no-{name}"] if style is BoolStyle.NEGATABLE else []


def with_defaults(
    args: Mapping[str, EngineArgValue], defaults: Mapping[str, EngineArgValue], case: FlagCase
) -> dict[str, EngineArgValue]:
    """The defaults the user did not set (in either spelling), then the user's engine_args."""
    given = {flag_name(key, case) for key in args if _FLAG_NAME.fullmatch(key)}
    merged: dict[str, EngineArgValue] = {
        key: value for key, value in defaults.items() if flag_name(key, case) not in given
    }
    merged.update(args)
    return merged


# Every engine's key, where it has one, is a reserved flag; the env variable is how custom
# commands (and the docs) learn the key their server must require.
REPLICA_KEY_ENV = "MODELPORT_REPLICA_KEY"


def _normal_flag(name: str) -> str:
    return name.lower().replace("_", "-")


def reserved_flag_hit(name: str, reserved: Collection[str]) -> str | None:
    """The reserved flag that `--name` would set, if any.

    Both spellings (_ and -) count, and so does any prefix of a reserved flag: argparse and
    getopt_long accept an unambiguous abbreviation (`--mod` for `--model`).
    """
    given = _normal_flag(name)
    if not given:
        return None
    for flag in sorted(reserved):
        if _normal_flag(flag).startswith(given):
            return flag
    return None


def checked_extra_args(extra_args: Sequence[str], reserved: Collection[str]) -> list[str]:
    """extra_args as given, unless one sets a reserved flag (InvalidSpec naming `extra_args.N`).

    Adapters also put their reserved flags after extra_args, so an engine whose parser keeps the
    last value would keep Modelport's even if a spelling slipped through this check.
    """
    for index, arg in enumerate(extra_args):
        if not arg.startswith("--"):
            continue
        hit = reserved_flag_hit(arg[2:].split("=", 1)[0], reserved)
        if hit is not None:
            field = f"extra_args.{index}"
            raise InvalidSpec(
                f"{field}: {arg.split('=', 1)[0]!r} would set --{hit}, which Modelport sets "
                "itself (from the spec, the replica's address and key); remove it",
                field=field,
            )
    return list(extra_args)


def check_reserved_env(spec: EndpointSpec, reserved: Collection[str]) -> None:
    """Refuse env variables the engine would read instead of what Modelport sets (its key, its
    config file). Compared without case: pydantic-settings reads `api_key` as `API_KEY`."""
    names = {name.upper() for name in reserved}
    for index, var in enumerate(spec.env):
        if var.name.upper() in names:
            field = f"env.{index}.name"
            raise InvalidSpec(
                f"{field}: {var.name} is set by Modelport for every replica; remove it",
                field=field,
            )


def key_env(variable: str, replica_key: str | None) -> dict[str, str]:
    """The environment entry that hands an engine its key ({} when the replica has none)."""
    return {} if replica_key is None else {variable: replica_key}
