"""TIR's model and server-version lists: what a client may name, and the errors when it may not."""

from __future__ import annotations

import pytest

from modelport.catalog import (
    dynamo_display_name,
    server_versions,
    supported_models,
    validate_hf_model,
    validate_server_version,
)
from modelport.catalog.supported_models import (
    DYNAMO_MODELS,
    NEMO_SERVER_VERSIONS,
    PYTORCH_SERVER_VERSIONS,
    SGLANG_MODELS,
    TENSORRT_SERVER_VERSIONS,
    TRITON_SERVER_VERSIONS,
    VLLM_MODELS,
)
from modelport.domain.errors import InvalidSpec
from tests.unit.catalog.seeds import terraform_models, terraform_versions


def test_model_lists_are_the_seeds_lists_verbatim() -> None:
    assert list(SGLANG_MODELS) == terraform_models(
        "## Supported Models for SGLANG", "## Supported Models for VLLM"
    )
    assert list(VLLM_MODELS) == terraform_models(
        "## Supported Models for VLLM", "## Supported Models for Dynamo"
    )
    assert list(DYNAMO_MODELS) == terraform_models("## Supported Models for Dynamo", "## Versions")


def test_version_lists_are_the_seeds_lists_verbatim() -> None:
    assert list(TENSORRT_SERVER_VERSIONS) == terraform_versions("TensorrtServerOptions")
    assert list(PYTORCH_SERVER_VERSIONS) == terraform_versions("PytorchServerOptions")
    assert list(TRITON_SERVER_VERSIONS) == terraform_versions("TritonServerOptions")
    assert list(NEMO_SERVER_VERSIONS) == terraform_versions("NemoServerOptions")


@pytest.mark.parametrize(
    ("framework", "hf_id"),
    [
        ("vllm", "BAAI/Aquila-7B"),  # the id in TIR's Terraform example
        ("vllm", "mosaicml/mpt-30b-chat"),
        ("sglang", "deepseek-ai/DeepSeek-R1"),
        ("dynamo", "llava-hf/llava-1.5-13b-hf"),
        ("VLLM", "meta-llama/Meta-Llama-3.1-8B-Instruct"),  # framework matched in any case
        ("vllm", "baai/aquila-7b"),  # the Hub resolves ids case-insensitively
        ("vllm", "custom"),
        ("sglang", "custom"),
        ("dynamo", "custom"),
        ("pytorch", "anything/at-all"),  # frameworks without a list accept any id
        ("custom", "HuggingFaceTB/SmolLM2-135M-Instruct"),
    ],
)
def test_listed_models_are_accepted(framework: str, hf_id: str) -> None:
    validate_hf_model(framework, hf_id)


@pytest.mark.parametrize(
    ("framework", "hf_id"),
    [
        ("vllm", "HuggingFaceTB/SmolLM2-135M-Instruct"),
        ("sglang", "BAAI/Aquila-7B"),  # listed for vLLM, not for SGLang
        ("dynamo", "mosaicml/mpt-7b"),  # listed for vLLM, not for Dynamo
    ],
)
def test_unlisted_models_are_rejected_naming_the_field(framework: str, hf_id: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        validate_hf_model(framework, hf_id)
    assert caught.value.field == "detailed_info.hugging_face_id"
    assert repr(hf_id) in caught.value.message
    assert "'custom'" in caught.value.message


def test_a_near_miss_suggests_the_listed_id() -> None:
    with pytest.raises(InvalidSpec) as caught:
        validate_hf_model("sglang", "meta-llama/Llama-3.2-1B-Instruc")
    assert "did you mean 'meta-llama/Llama-3.2-1B-Instruct'" in caught.value.message


def test_dynamo_models_keep_their_display_names() -> None:
    assert dynamo_display_name("BAAI/AquilaChat-7B") == "Aquila2-7B-Chat"
    assert dynamo_display_name("custom") == "Custom (If model not present in list)"
    assert dynamo_display_name("mosaicml/mpt-7b") is None
    assert supported_models("dynamo") == tuple(DYNAMO_MODELS)
    assert supported_models("triton") is None


@pytest.mark.parametrize(
    ("framework", "version"),
    [
        ("pytorch", "v0.9.0"),  # the Terraform example
        ("PYTORCH", "v0.8.1"),
        ("tensorrt", "v0.10.0"),
        ("tensorrt", "v24.02"),
        ("triton", "v23.10"),
        ("nemo-rag", "v0.9.0"),
        ("triton", "custom"),
        ("vllm", "v0.6.3"),  # no list for vLLM: any version
    ],
)
def test_listed_server_versions_are_accepted(framework: str, version: str) -> None:
    validate_server_version(framework, version)


@pytest.mark.parametrize(
    ("framework", "version", "allowed"),
    [
        ("pytorch", "v24.02", PYTORCH_SERVER_VERSIONS),
        ("triton", "v0.9.0", TRITON_SERVER_VERSIONS),
        ("tensorrt", "latest", TENSORRT_SERVER_VERSIONS),
        ("nemo-rag", "v0.8.1", NEMO_SERVER_VERSIONS),
    ],
)
def test_unlisted_server_versions_are_rejected_listing_the_allowed_ones(
    framework: str, version: str, allowed: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidSpec) as caught:
        validate_server_version(framework, version)
    assert caught.value.field == "detailed_info.server_version"
    assert caught.value.message.endswith("allowed: " + ", ".join(allowed))
    assert server_versions(framework) == allowed
