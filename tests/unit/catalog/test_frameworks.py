"""Every `framework` value a TIR client may send resolves to a preset our engines can serve."""

from __future__ import annotations

import pytest

from modelport.catalog import (
    ModelSourceKind,
    PresetKind,
    TaskType,
    all_presets,
    lookup_framework,
    server_versions,
)
from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import Framework
from tests.unit.catalog.seeds import terraform_frameworks, tir_table_rows

# Seed 000's create-endpoint table and seed 001's "Supported Frameworks", copied so these tests
# run (and the catalog is checked) where the seed files are absent.
TIR_API_VALUES = [
    "vllm", "sglang", "dynamo", "pytorch", "triton", "custom", "llma", "codellama",
    "mistral-7b-instruct", "mixtral-8x7b-instruct", "gemma-2b-it", "llama-3-8b-instruct",
    "Phi-3-mini-128k-instruct", "llama-3_1-8b-instruct", "bge-large-en-v1_5",
    "bge-reranker-large", "stable_diffusion_xl", "yolov8", "stable-video-diffusion-img2vid-xt",
    "nvidia-nv-embed-v1", "tensorrt", "nemotron-3-8b-chat-4k-rlhf", "nemotron-3-nano-30b-a3b",
    "nemotron-nano-12b-v2-vl", "nemotron-speech-streaming-en-0.6b",
]  # fmt: skip
TERRAFORM_VALUES = [
    "triton", "pytorch", "codellama", "stable_diffusion", "stable_diffusion_xl", "mpt", "custom",
    "mixtral-8x7b-instruct", "mistral-7b-instruct", "tensorrt", "gemma-2b", "gemma-2b-it",
    "gemma-7b", "gemma-7b-it", "llama-3-8b-instruct", "llama-3_1-8b-instruct",
    "llama-3_2-3b-instruct", "llama-3_2-11b-vision-instruct", "vllm", "starcoder2-7b",
    "Phi-3-mini-128k-instruct", "nemo-rag", "stable-video-diffusion-img2vid-xt", "yolov8",
    "nemotron-3-8b-chat-4k-rlhf", "nvidia-nv-embed-v1", "bge-large-en-v1_5",
    "bge-reranker-large", "pixtral-12b-2409", "sglang", "dynamo",
]  # fmt: skip

SOURCE_COLUMN = {
    "HuggingFace model ID": ModelSourceKind.HUGGINGFACE,
    "Fine-tuned TIR model (model_id)": ModelSourceKind.TIR_MODEL,
    "Any Docker image": ModelSourceKind.IMAGE,
    "Built-in (via args)": ModelSourceKind.BUILT_IN,
    "E2E registry": ModelSourceKind.REGISTRY,
}


@pytest.mark.parametrize("value", sorted(set(TIR_API_VALUES + TERRAFORM_VALUES)))
def test_every_vendor_framework_value_resolves_to_itself(value: str) -> None:
    assert lookup_framework(value).value == value


def test_the_catalog_holds_exactly_the_vendor_values() -> None:
    assert {p.value for p in all_presets()} == set(TIR_API_VALUES) | set(TERRAFORM_VALUES)


def test_every_framework_in_the_seed_table_resolves_with_its_name_and_source() -> None:
    rows = tir_table_rows()
    assert len(rows) == 25
    for display_name, value, source in rows:
        preset = lookup_framework(value)
        assert preset.display_name == display_name
        assert preset.model_source is SOURCE_COLUMN[source], value


def test_every_terraform_supported_framework_resolves() -> None:
    values = terraform_frameworks()
    assert len(values) == 31
    for value in values:
        assert lookup_framework(value).value == value


@pytest.mark.parametrize(
    ("sent", "value", "engine"),
    [
        ("PYTORCH", "pytorch", Framework.TORCHSERVE),  # as TIR's Terraform example writes it
        ("VLLM", "vllm", Framework.VLLM),
        ("phi-3-MINI-128k-instruct", "Phi-3-mini-128k-instruct", Framework.VLLM),
        ("  Triton ", "triton", Framework.TRITON),
    ],
)
def test_lookup_ignores_case_and_surrounding_space(
    sent: str, value: str, engine: Framework
) -> None:
    preset = lookup_framework(sent)
    assert (preset.value, preset.engine) == (value, engine)


def test_an_unknown_framework_is_rejected_naming_the_field_and_the_valid_values() -> None:
    with pytest.raises(InvalidSpec) as caught:
        lookup_framework("tensorflow")
    assert caught.value.field == "framework"
    assert "'tensorflow'" in caught.value.message
    for value in ("vllm", "pytorch", "pixtral-12b-2409", "nemotron-speech-streaming-en-0.6b"):
        assert value in caught.value.message


@pytest.mark.parametrize(
    ("value", "engine"),
    [
        ("vllm", Framework.VLLM),
        ("sglang", Framework.SGLANG),
        ("dynamo", Framework.DYNAMO),
        ("triton", Framework.TRITON),
        ("pytorch", Framework.TORCHSERVE),
        ("tensorrt", Framework.TENSORRT),
        ("custom", Framework.CUSTOM),
    ],
)
def test_engine_values_map_to_our_engines(value: str, engine: Framework) -> None:
    preset = lookup_framework(value)
    assert preset.kind is PresetKind.ENGINE
    assert preset.engine is engine
    assert preset.hf_id is None  # the user brings the model


@pytest.mark.parametrize(
    ("value", "hf_id", "engine", "task"),
    [
        ("llma", "meta-llama/Llama-2-7b-chat-hf", Framework.VLLM, TaskType.CHAT),
        ("codellama", "codellama/CodeLlama-7b-Instruct-hf", Framework.VLLM, TaskType.CHAT),
        (
            "mistral-7b-instruct",
            "mistralai/Mistral-7B-Instruct-v0.2",
            Framework.VLLM,
            TaskType.CHAT,
        ),
        (
            "llama-3-8b-instruct",
            "meta-llama/Meta-Llama-3-8B-Instruct",
            Framework.VLLM,
            TaskType.CHAT,
        ),
        ("gemma-2b-it", "google/gemma-2b-it", Framework.VLLM, TaskType.CHAT),
        ("bge-large-en-v1_5", "BAAI/bge-large-en-v1.5", Framework.VLLM, TaskType.EMBEDDING),
        ("bge-reranker-large", "BAAI/bge-reranker-large", Framework.VLLM, TaskType.RERANK),
        ("nvidia-nv-embed-v1", "nvidia/NV-Embed-v1", Framework.TRITON, TaskType.EMBEDDING),
        ("yolov8", None, Framework.TRITON, TaskType.OBJECT_DETECTION),
        ("nemo-rag", None, Framework.TRITON, TaskType.RAG),
    ],
)
def test_model_presets_name_their_weights_engine_and_task(
    value: str, hf_id: str | None, engine: Framework, task: TaskType
) -> None:
    preset = lookup_framework(value)
    assert preset.kind is PresetKind.MODEL
    assert (preset.hf_id, preset.engine, preset.task) == (hf_id, engine, task)


def test_presets_that_load_from_hugging_face_name_a_hugging_face_id() -> None:
    for preset in all_presets():
        if preset.kind is PresetKind.MODEL and preset.model_source in {
            ModelSourceKind.HUGGINGFACE,
            ModelSourceKind.BUILT_IN,
        }:
            assert preset.hf_id is not None and "/" in preset.hf_id, preset.value


def test_generative_model_presets_need_a_gpu_and_custom_containers_do_not() -> None:
    assert lookup_framework("custom").gpu_count == 0
    assert lookup_framework("pytorch").gpu_count == 0  # the Terraform example runs it on C3.2
    assert lookup_framework("mixtral-8x7b-instruct").gpu_count == 2
    for preset in all_presets():
        if preset.kind is PresetKind.MODEL:
            assert preset.gpu_count >= 1, preset.value


@pytest.mark.parametrize("value", ["tensorrt", "pytorch", "triton", "nemo-rag", "vllm"])
def test_presets_carry_the_server_versions_their_value_is_checked_against(value: str) -> None:
    assert lookup_framework(value).server_versions == server_versions(value)
    assert (lookup_framework(value).server_versions is None) == (value == "vllm")
