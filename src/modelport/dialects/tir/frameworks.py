"""TIR `framework` values: the catalog's presets, the Terraform provider's names, and llamacpp.

The catalog (`modelport.catalog.lookup_framework`) knows every value TIR's API takes. The
Terraform provider's documentation also shows the left-hand names of its list ("LLAMA_3",
"BAAI_LARGE", ...); they are accepted too. `llamacpp` is Modelport's own value: llama.cpp over a
local GGUF file named by `path`, the engine that runs on a CPU-only host.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from modelport.catalog import FrameworkPreset, lookup_framework
from modelport.catalog.frameworks import TERRAFORM_NAMES
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import Framework

LLAMACPP = "llamacpp"


# The TIR value shown for an endpoint created through another API, by its engine.
_VALUE_OF_ENGINE = MappingProxyType(
    {
        Framework.LLAMACPP: LLAMACPP,
        Framework.CUSTOM: "custom",
        Framework.VLLM: "vllm",
        Framework.SGLANG: "sglang",
        Framework.DYNAMO: "dynamo",
        Framework.TRITON: "triton",
        Framework.TORCHSERVE: "pytorch",
        Framework.TENSORRT: "tensorrt",
    }
)


@dataclass(frozen=True, slots=True)
class TirFramework:
    value: str  # the canonical TIR spelling, e.g. "pytorch", "Phi-3-mini-128k-instruct"
    engine: Framework
    preset: FrameworkPreset | None  # None for llamacpp, which is not a TIR value

    @property
    def gpu_count(self) -> int:
        return self.preset.gpu_count if self.preset is not None else 0


def resolve_framework(value: str) -> TirFramework:
    """The framework a request names; InvalidSpec(field="framework") listing valid values."""
    wanted = value.strip()
    if wanted.lower() == LLAMACPP:
        return TirFramework(LLAMACPP, Framework.LLAMACPP, None)
    wanted = TERRAFORM_NAMES.get(wanted.upper(), wanted)
    try:
        preset = lookup_framework(wanted)
    except InvalidSpec as exc:
        raise InvalidSpec(f"framework: {exc.message} (or {LLAMACPP!r})", field="framework") from exc
    return TirFramework(preset.value, preset.engine, preset)


def framework_value(engine: Framework) -> str:
    """The TIR value for an endpoint's engine (endpoints created through another API)."""
    return _VALUE_OF_ENGINE[engine]
