"""Every `framework` value TIR accepts (seeds 000 and 001), and what each one means here.

TIR's `framework` mixes two things: engines ("vllm", "triton", ...) and model presets ("llma",
"gemma-2b-it", ...) that pin a model onto an engine. A preset tells a dialect which of our engines
serves it, where its weights come from and what task it does. The lists are kept here, not read
from the seeds, so nothing depends on the seed files at runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from modelport.catalog.supported_models import server_versions
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import Framework

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


class PresetKind(StrEnum):
    """What a framework value names."""

    ENGINE = "engine"  # an inference server; the user brings the model
    MODEL = "model"  # a model pinned onto an engine; the preset names the weights


class TaskType(StrEnum):
    """What a preset's endpoint does for its callers."""

    ANY = "any"  # engine presets: whatever the served model does
    CHAT = "chat"  # instruction/chat text generation
    COMPLETION = "completion"  # base-model or code text completion
    VISION_CHAT = "vision-chat"  # images and text in, text out
    EMBEDDING = "embedding"  # text in, vectors out
    RERANK = "rerank"  # query and passages in, relevance scores out
    TEXT_TO_IMAGE = "text-to-image"  # prompt in, image out
    IMAGE_TO_VIDEO = "image-to-video"  # image in, short video out
    OBJECT_DETECTION = "object-detection"  # image in, labelled boxes out
    SPEECH_TO_TEXT = "speech-to-text"  # audio in, transcript out
    RAG = "rag"  # a retrieval-augmented generation pipeline


class ModelSourceKind(StrEnum):
    """Where a preset's weights come from (seed 000's "Model source" column)."""

    HUGGINGFACE = "huggingface"  # a Hugging Face id (detailed_info.hugging_face_id)
    TIR_MODEL = "tir_model"  # a model in the model repository, named by model_id
    BUILT_IN = "built_in"  # the preset names its weights; args may override them
    REGISTRY = "registry"  # the operator's model registry (seed: "E2E registry")
    IMAGE = "image"  # a container image the user supplies


@dataclass(frozen=True, slots=True)
class FrameworkPreset:
    """One accepted `framework` value."""

    value: str  # as the vendor spells it, e.g. "Phi-3-mini-128k-instruct"
    display_name: str
    kind: PresetKind
    engine: Framework  # the engine that serves it here
    task: TaskType
    model_source: ModelSourceKind
    gpu_count: int  # GPUs one replica needs by default
    hf_id: str | None = None  # the public weights of a model preset; None: none apply
    server_versions: tuple[str, ...] | None = None  # None: no version list to check against


def _engine(
    value: str, name: str, engine: Framework, source: ModelSourceKind, gpus: int
) -> FrameworkPreset:
    return FrameworkPreset(
        value,
        name,
        PresetKind.ENGINE,
        engine,
        TaskType.ANY,
        source,
        gpus,
        server_versions=server_versions(value),
    )


def _model(
    value: str,
    name: str,
    engine: Framework,
    hf_id: str | None,
    task: TaskType,
    source: ModelSourceKind = ModelSourceKind.HUGGINGFACE,
    gpus: int = 1,
) -> FrameworkPreset:
    return FrameworkPreset(
        value, name, PresetKind.MODEL, engine, task, source, gpus, hf_id, server_versions(value)
    )


_F, _T, _S = Framework, TaskType, ModelSourceKind

# One preset per block, kept compact so the list reads as a table.
# fmt: off
_PRESETS: tuple[FrameworkPreset, ...] = (
    # Seed 000's table, in its order.
    _engine("vllm", "vLLM", _F.VLLM, _S.HUGGINGFACE, 1),
    _engine("sglang", "SGLang", _F.SGLANG, _S.HUGGINGFACE, 1),
    _engine("dynamo", "Nvidia Dynamo", _F.DYNAMO, _S.HUGGINGFACE, 1),
    _engine("pytorch", "PyTorch / TorchServe", _F.TORCHSERVE, _S.TIR_MODEL, 0),
    _engine("triton", "Triton Inference Server", _F.TRITON, _S.TIR_MODEL, 1),
    _engine("custom", "Custom Container", _F.CUSTOM, _S.IMAGE, 0),
    _model("llma", "LLaMA 2 Chat 7B", _F.VLLM, "meta-llama/Llama-2-7b-chat-hf", _T.CHAT),
    _model(
        "codellama", "CodeLlama 7B Instruct", _F.VLLM, "codellama/CodeLlama-7b-Instruct-hf", _T.CHAT
    ),
    _model(
        "mistral-7b-instruct", "Mistral 7B Instruct", _F.VLLM,
        "mistralai/Mistral-7B-Instruct-v0.2", _T.CHAT,
    ),
    _model(
        "mixtral-8x7b-instruct", "Mixtral 8x7B Instruct", _F.VLLM,
        "mistralai/Mixtral-8x7B-Instruct-v0.1", _T.CHAT, gpus=2,  # ~94 GB of bf16 weights
    ),
    _model("gemma-2b-it", "Gemma 2B IT", _F.VLLM, "google/gemma-2b-it", _T.CHAT),
    _model(
        "llama-3-8b-instruct", "LLaMA 3 8B Instruct", _F.VLLM,
        "meta-llama/Meta-Llama-3-8B-Instruct", _T.CHAT,
    ),
    _model(
        "Phi-3-mini-128k-instruct", "Phi-3 Mini 128K Instruct", _F.VLLM,
        "microsoft/Phi-3-mini-128k-instruct", _T.CHAT,
    ),
    _model(
        "llama-3_1-8b-instruct", "LLaMA 3.1 8B Instruct", _F.VLLM,
        "meta-llama/Meta-Llama-3.1-8B-Instruct", _T.CHAT,
    ),
    _model(
        "bge-large-en-v1_5", "BGE Large EN v1.5", _F.VLLM,
        "BAAI/bge-large-en-v1.5", _T.EMBEDDING, _S.BUILT_IN,
    ),
    _model(
        "bge-reranker-large", "BGE Reranker Large", _F.VLLM,
        "BAAI/bge-reranker-large", _T.RERANK, _S.BUILT_IN,
    ),
    _model(
        "stable_diffusion_xl", "Stable Diffusion XL", _F.TORCHSERVE,
        "stabilityai/stable-diffusion-xl-base-1.0", _T.TEXT_TO_IMAGE, _S.REGISTRY,
    ),
    # Ultralytics publishes YOLOv8 outside the Hub; the weights come from the registry only.
    _model("yolov8", "YOLOv8", _F.TRITON, None, _T.OBJECT_DETECTION, _S.REGISTRY),
    _model(
        "stable-video-diffusion-img2vid-xt", "Stable Video Diffusion", _F.TORCHSERVE,
        "stabilityai/stable-video-diffusion-img2vid-xt", _T.IMAGE_TO_VIDEO, _S.REGISTRY,
    ),
    _model(
        "nvidia-nv-embed-v1", "NVIDIA NV-Embed v1", _F.TRITON,
        "nvidia/NV-Embed-v1", _T.EMBEDDING, _S.REGISTRY,
    ),
    _engine("tensorrt", "TensorRT-LLM", _F.TENSORRT, _S.TIR_MODEL, 1),
    _model(
        "nemotron-3-8b-chat-4k-rlhf", "Nemotron 3 8B Chat", _F.TRITON,
        "nvidia/nemotron-3-8b-chat-4k-rlhf", _T.CHAT, _S.REGISTRY,
    ),
    _model(
        "nemotron-3-nano-30b-a3b", "Nemotron 3 Nano 30B A3B", _F.VLLM,
        "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16", _T.CHAT,
    ),
    _model(
        "nemotron-nano-12b-v2-vl", "Nemotron Nano 12B v2 VL", _F.VLLM,
        "nvidia/NVIDIA-Nemotron-Nano-12B-v2-VL-BF16", _T.VISION_CHAT,
    ),
    _model(
        "nemotron-speech-streaming-en-0.6b", "Nemotron Speech Streaming EN 0.6B", _F.TRITON,
        "nvidia/nemotron-speech-streaming-en-0.6b", _T.SPEECH_TO_TEXT, _S.REGISTRY,
    ),
    # Seed 001's "Supported Frameworks" values that seed 000's table does not show.
    _model(
        "stable_diffusion", "Stable Diffusion", _F.TORCHSERVE,
        "stabilityai/stable-diffusion-2-1", _T.TEXT_TO_IMAGE, _S.REGISTRY,
    ),
    _model("mpt", "MPT 7B Instruct", _F.VLLM, "mosaicml/mpt-7b-instruct", _T.COMPLETION),
    _model("gemma-2b", "Gemma 2B", _F.VLLM, "google/gemma-2b", _T.COMPLETION),
    _model("gemma-7b", "Gemma 7B", _F.VLLM, "google/gemma-7b", _T.COMPLETION),
    _model("gemma-7b-it", "Gemma 7B IT", _F.VLLM, "google/gemma-7b-it", _T.CHAT),
    _model(
        "llama-3_2-3b-instruct", "LLaMA 3.2 3B Instruct", _F.VLLM,
        "meta-llama/Llama-3.2-3B-Instruct", _T.CHAT,
    ),
    _model(
        "llama-3_2-11b-vision-instruct", "LLaMA 3.2 11B Vision Instruct", _F.VLLM,
        "meta-llama/Llama-3.2-11B-Vision-Instruct", _T.VISION_CHAT,
    ),
    _model("starcoder2-7b", "StarCoder2 7B", _F.VLLM, "bigcode/starcoder2-7b", _T.COMPLETION),
    # A NeMo retrieval pipeline served from the registry; its versions are NemoServerOptions.
    _model("nemo-rag", "NeMo RAG", _F.TRITON, None, _T.RAG, _S.REGISTRY),
    _model(
        "pixtral-12b-2409", "Pixtral 12B (2409)", _F.VLLM,
        "mistralai/Pixtral-12B-2409", _T.VISION_CHAT,
    ),
)
# fmt: on

# Lower-cased value -> preset: TIR's own Terraform example writes "PYTORCH".
_BY_VALUE: Mapping[str, FrameworkPreset] = MappingProxyType(
    {preset.value.lower(): preset for preset in _PRESETS}
)


def all_presets() -> tuple[FrameworkPreset, ...]:
    """Every accepted framework value, seed 000's table first, then seed 001's extras."""
    return _PRESETS


def lookup_framework(value: str) -> FrameworkPreset:
    """The preset for a vendor `framework` value, matched case-insensitively.

    Raises InvalidSpec(field="framework") listing the valid values when none matches.
    """
    preset = _BY_VALUE.get(value.strip().lower())
    if preset is None:
        valid = ", ".join(p.value for p in _PRESETS)
        raise InvalidSpec(f"unknown framework {value!r}; valid values: {valid}", field="framework")
    return preset
