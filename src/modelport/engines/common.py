"""What every engine adapter needs: engine_args as flags, probe defaults, the model reference."""

from __future__ import annotations

import importlib.util
import re
import shutil
from collections.abc import Collection, Mapping
from enum import Enum

from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import EndpointSpec, EngineArgValue, ProbeProtocol, ProbeSpec

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
    if name in reserved:
        raise InvalidSpec(
            f"{field}: Modelport sets --{name} itself (from the spec and the replica's "
            "address); remove it",
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


def model_reference(spec: EndpointSpec, engine: str) -> str:
    """The Hugging Face id or local path an engine loads; InvalidSpec when there is neither."""
    ref = spec.model.hf_id or spec.model.path
    if not ref:
        raise InvalidSpec(
            f"model.hf_id: {engine} needs a model: a Hugging Face id (model.hf_id) or a "
            "local path (model.path)",
            field="model.hf_id",
        )
    return ref


def http_probe(
    path: str, *, period: float, timeout: float = 2.0, failure_threshold: int = 3
) -> ProbeSpec:
    return ProbeSpec(
        protocol=ProbeProtocol.HTTP,
        path=path,
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failure_threshold,
    )


def tcp_probe(*, period: float, timeout: float = 2.0, failure_threshold: int = 3) -> ProbeSpec:
    return ProbeSpec(
        protocol=ProbeProtocol.TCP,
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failure_threshold,
    )


def resolve_probe(given: ProbeSpec | None, default: ProbeSpec) -> ProbeSpec:
    """The spec's probe, else the engine's; an HTTP probe without a path gets the engine's."""
    if given is None:
        return default
    if given.protocol is ProbeProtocol.HTTP and given.path is None and default.path is not None:
        return given.model_copy(update={"path": default.path})
    return given


def tensor_parallel(spec: EndpointSpec) -> int | None:
    """Split the model over every GPU a replica gets; None when it gets at most one."""
    return spec.resources.gpu_count if spec.resources.gpu_count > 1 else None


def missing_executable(executable: str, engine: str, install: str) -> str | None:
    if shutil.which(executable) is not None:
        return None
    return f"{engine} is not installed on this host: {executable!r} is not on PATH ({install})"


def missing_module(module: str, engine: str, install: str) -> str | None:
    if importlib.util.find_spec(module) is not None:
        return None
    return f"{engine} is not installed on this host: Python module {module!r} not found ({install})"
