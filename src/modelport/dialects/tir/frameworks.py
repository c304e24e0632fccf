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
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import Framework

LLAMACPP = "llamacpp"

# Seed 001 "Supported Frameworks" (NAME = 'value'), plus LLAMA from the provider's own map.
TERRAFORM_NAMES = MappingProxyType(
    {
        "TRITON": "triton",
        "PYTORCH": "pytorch",
        "LLAMA": "llma",
        "CODELAMA": "codellama",
        "STABLE_DIFFUSION": "stable_diffusion",
        "STABLE_DIFFUSION_XL": "stable_diffusion_xl",
        "MPT": "mpt",
        "CUSTOM": "custom",
        "MIXTRAL8X7B": "mixtral-8x7b-instruct",
        "MIXTRAL7B": "mistral-7b-instruct",
        "TENSOR_RT": "tensorrt",
        "GEMMA_2B": "gemma-2b",
        "GEMMA_2B_IT": "gemma-2b-it",
        "GEMMA_7B": "gemma-7b",
        "GEMMA_7B_IT": "gemma-7b-it",
        "LLAMA_3": "llama-3-8b-instruct",
        "LLAMA_3_1": "llama-3_1-8b-instruct",
        "LLAMA_3_2": "llama-3_2-3b-instruct",
        "LLAMA_3_2_VISION": "llama-3_2-11b-vision-instruct",
        "VLLM": "vllm",
        "STARCODER": "starcoder2-7b",
        "PHI_3_MINI": "Phi-3-mini-128k-instruct",
        "NEMO": "nemo-rag",
        "STABLE_VIDEO_DIFFUSION": "stable-video-diffusion-img2vid-xt",
        "YOLO_V8": "yolov8",
        "NEMOTRON": "nemotron-3-8b-chat-4k-rlhf",
        "NV_EMBED": "nvidia-nv-embed-v1",
        "BAAI_LARGE": "bge-large-en-v1_5",
        "BAAI_RERANKER": "bge-reranker-large",
        "PIXTRAL": "pixtral-12b-2409",
        "SGLANG": "sglang",
        "DYNAMO": "dynamo",
    }
)

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
