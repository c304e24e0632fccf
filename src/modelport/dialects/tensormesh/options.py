"""Which engine serves a Tensormesh model, and its two cache switches as that engine's flags.

Engine rule (documented in docs/dialects/tensormesh.md):
1. `modelSpec.engine` ("vllm", "sglang" or "llamacpp") when given;
2. else llama.cpp when `modelPath` is an absolute path to a `.gguf` file (the CPU variant);
3. else vLLM, Tensormesh's own engine.

`kvCacheEnabled` / `cpuOffloadingEnabled` left out (or null) keep the engine's default; true or
false set the engine's flag. Where the engine has no such option the switch becomes a note: an
event on the endpoint saying it is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from modelport.dialects.tensormesh.errors import invalid
from modelport.domain.records import EventLevel
from modelport.domain.specs import EngineArgValue, Framework

ENGINES: Mapping[str, Framework] = {
    "vllm": Framework.VLLM,
    "sglang": Framework.SGLANG,
    "llamacpp": Framework.LLAMACPP,
}
# vLLM's native CPU offloading buffer, GiB of host memory per replica
# (override with modelSpec.engineArgs["kv-offloading-size"]).
VLLM_OFFLOAD_GIB = 8

Args = dict[str, EngineArgValue]


@dataclass(frozen=True, slots=True)
class Note:
    """An event to write on a newly created endpoint."""

    level: EventLevel
    reason: str  # CamelCase
    message: str


def is_local_gguf(model_path: str) -> bool:
    return model_path.startswith("/") and model_path.lower().endswith(".gguf")


def choose_engine(model_path: str, model_spec: Mapping[str, Any]) -> Framework:
    engine = model_spec.get("engine")
    if engine is None:
        return Framework.LLAMACPP if is_local_gguf(model_path) else Framework.VLLM
    if not isinstance(engine, str) or engine.lower() not in ENGINES:
        raise invalid("modelSpec.engine", f"must be one of {', '.join(ENGINES)} (got {engine!r})")
    return ENGINES[engine.lower()]


def engine_args(model_spec: Mapping[str, Any]) -> Args:
    """`modelSpec.engineArgs`: extra flags for the engine, without the leading dashes."""
    given = model_spec.get("engineArgs", {})
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise invalid("modelSpec.engineArgs", "must be an object of flag name -> value")
    args: Args = {}
    for key, value in given.items():
        if not isinstance(value, str | int | float | bool):
            raise invalid(f"modelSpec.engineArgs.{key}", "must be a string, number or boolean")
        args[str(key)] = value
    return args


def cache_options(
    framework: Framework, kv_cache: bool | None, cpu_offloading: bool | None
) -> tuple[Args, list[Note]]:
    """The engine flags for the two switches, and notes for the switches it cannot honour."""
    args: Args = {}
    notes: list[Note] = []
    if framework is Framework.VLLM:
        if kv_cache is not None:  # --enable-prefix-caching / --no-enable-prefix-caching
            args["enable-prefix-caching"] = kv_cache
        if cpu_offloading:
            args["kv-offloading-backend"] = "native"
            args["kv-offloading-size"] = VLLM_OFFLOAD_GIB
    elif framework is Framework.SGLANG:
        if kv_cache is False:  # the radix (prefix) cache is on by default
            args["disable-radix-cache"] = True
        if cpu_offloading:  # HiCache: KV cache spills to host memory
            args["enable-hierarchical-cache"] = True
    elif framework is Framework.LLAMACPP:
        if kv_cache is not None:  # llama-cpp-python's prompt (prefix) cache in RAM
            args["cache"] = kv_cache
        if cpu_offloading:
            notes.append(_unsupported("cpuOffloadingEnabled", "llama.cpp server", _LLAMACPP_CPU))
    return args, notes


_LLAMACPP_CPU = (
    "it has no tiered KV-cache offloading (on a CPU host its KV cache is in host memory anyway)"
)


def _unsupported(field: str, engine: str, why: str) -> Note:
    return Note(
        EventLevel.WARNING,
        "OptionUnsupported",
        f"{field}: ignored; {engine} cannot honour it: {why}",
    )


def placement_note(asked: list[str]) -> Note | None:
    """infra and nodeId are kept and echoed, but Modelport's runtime decides placement.

    `asked`: the placement values the request set ("CLOUD_PROVIDER_NEBIUS", "nodeId n-1", ...).
    """
    if not asked:
        return None
    return Note(
        EventLevel.INFO,
        "PlacementIgnored",
        f"infra/nodeId ({', '.join(asked)}): recorded, not used; Modelport places replicas "
        "on the hosts of its own runtime",
    )
