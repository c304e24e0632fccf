"""The model and server-version lists of TIR's Terraform provider (seed 001), kept verbatim.

TIR accepts a `hugging_face_id` for vLLM, SGLang and Dynamo endpoints only from these lists, and a
`server_version` for TensorRT, PyTorch, Triton and NeMo endpoints only from the version lists.
The entry "custom" appears in every list: it is the vendor's "model/version not in the list"
choice, so it is accepted as a value; any other value outside a list is rejected.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType

from modelport.domain.errors import InvalidSpec

CUSTOM = "custom"  # the listed escape hatch: "Custom (If model not present in list)"

HF_ID_FIELD = "detailed_info.hugging_face_id"
SERVER_VERSION_FIELD = "detailed_info.server_version"

# Seed 001 "Supported Models for SGLANG", verbatim and in order.
SGLANG_MODELS: tuple[str, ...] = (
    "deepseek-ai/DeepSeek-R1",
    "google/gemma-2b",
    "deepseek-ai/DeepSeek-V3",
    "meta-llama/Llama-3.2-1B",
    "microsoft/Phi-3-small-8k-instruct",
    "meta-llama/Llama-3.2-1B-Instruct",
    "custom",
)

# Seed 001 "Supported Models for VLLM", verbatim and in order.
VLLM_MODELS: tuple[str, ...] = (
    "custom",
    "BAAI/Aquila-7B",
    "BAAI/AquilaChat-7B",
    "Snowflake/snowflake-arctic-base",
    "Snowflake/snowflake-arctic-instruct",
    "baichuan-inc/Baichuan-7B",
    "baichuan-inc/Baichuan2-13B-Chat",
    "bigscience/bloom",
    "bigscience/bloomz",
    "THUDM/chatglm2-6b",
    "THUDM/chatglm3-6b",
    "CohereForAI/c4ai-command-r-v01",
    "databricks/dbrx-base",
    "databricks/dbrx-instruct",
    "Deci/DeciLM-7B",
    "Deci/DeciLM-7B-instruct",
    "tiiuae/falcon-7b",
    "tiiuae/falcon-40b",
    "tiiuae/falcon-rw-7b",
    "google/gemma-2b",
    "google/gemma-7b",
    "gpt2",
    "gpt2-xl",
    "bigcode/starcoder",
    "bigcode/gpt_bigcode-santacoder",
    "WizardLM/WizardCoder-15B-V1.0",
    "EleutherAI/gpt-j-6b",
    "nomic-ai/gpt4all-j",
    "EleutherAI/gpt-neox-20b",
    "EleutherAI/pythia-12b",
    "OpenAssistant/oasst-sft-4-pythia-12b-epoch-3.5",
    "databricks/dolly-v2-12b",
    "stabilityai/stablelm-tuned-alpha-7b",
    "internlm/internlm-7b",
    "internlm/internlm-chat-7b",
    "internlm/internlm2-7b",
    "internlm/internlm2-chat-7b",
    "core42/jais-13b",
    "core42/jais-13b-chat",
    "core42/jais-30b-v3",
    "core42/jais-30b-chat-v3",
    "openlm-research/open_llama_13b",
    "meta-llama/Llama-2-13b-hf",
    "meta-llama/Llama-2-70b-hf",
    "meta-llama/Meta-Llama-3-8B-Instruct",
    "meta-llama/Meta-Llama-3-70B-Instruct",
    "meta-llama/Meta-Llama-3.1-8B-Instruct",
    "meta-llama/Meta-Llama-3.1-70B-Instruct",
    "meta-llama/Meta-Llama-3.1-405B-Instruct",
    "meta-llama/Meta-Llama-3.1-405B-Instruct-FP8",
    "meta-llama/Llama-3.2-1B",
    "meta-llama/Llama-3.2-3B",
    "meta-llama/Llama-3.2-1B-Instruct",
    "meta-llama/Llama-3.2-3B-Instruct",
    "meta-llama/Llama-Guard-3-1B",
    "meta-llama/Llama-3.2-11B-Vision",
    "meta-llama/Llama-3.2-11B-Vision-Instruct",
    "meta-llama/Llama-3.2-90B-Vision",
    "meta-llama/Llama-3.2-90B-Vision-Instruct",
    "meta-llama/Llama-Guard-3-11B-Vision",
    "meta-llama/Llama-3.3-70B-Instruct",
    "lmsys/vicuna-13b-v1.3",
    "01-ai/Yi-6B",
    "01-ai/Yi-34B",
    "llava-hf/llava-1.5-7b-hf",
    "llava-hf/llava-1.5-13b-hf",
    "openbmb/MiniCPM-2B-sft-bf16",
    "openbmb/MiniCPM-2B-dpo-bf16",
    "mistralai/Mistral-7B-v0.1",
    "mistralai/Mistral-7B-Instruct-v0.1",
    "mistralai/Mixtral-8x7B-v0.1",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "mistral-community/Mixtral-8x22B-v0.1",
    "mosaicml/mpt-7b",
    "mosaicml/mpt-30b",
    "mosaicml/mpt-7b-instruct",
    "mosaicml/mpt-30b-instruct",
    "mosaicml/mpt-7b-chat",
    "mosaicml/mpt-30b-chat",
)

# Seed 001 "Supported Models for Dynamo": Hugging Face id -> the display name TIR shows.
DYNAMO_MODELS: Mapping[str, str] = MappingProxyType(
    {
        "custom": "Custom (If model not present in list)",
        "BAAI/Aquila-7B": "Aquila-7B",
        "BAAI/AquilaChat-7B": "Aquila2-7B-Chat",
        "Snowflake/snowflake-arctic-base": "Arctic-Base",
        "Snowflake/snowflake-arctic-instruct": "Arctic-Instruct",
        "baichuan-inc/Baichuan-7B": "Baichuan-7B",
        "baichuan-inc/Baichuan2-13B-Chat": "Baichuan2-13B-Chat",
        "bigscience/bloom": "BLOOM",
        "bigscience/bloomz": "BLOOMZ",
        "THUDM/chatglm2-6b": "ChatGLM2-6B",
        "THUDM/chatglm3-6b": "ChatGLM3-6B",
        "CohereForAI/c4ai-command-r-v01": "Command-R",
        "databricks/dbrx-base": "DBRX-Base",
        "databricks/dbrx-instruct": "DBRX-Instruct",
        "Deci/DeciLM-7B": "DeciLM-7B",
        "Deci/DeciLM-7B-instruct": "DeciLM-7B-Instruct",
        "tiiuae/falcon-7b": "Falcon-7B",
        "tiiuae/falcon-40b": "Falcon-40B",
        "tiiuae/falcon-rw-7b": "Falcon-RW-7B",
        "google/gemma-2b": "Gemma-2B",
        "google/gemma-7b": "Gemma-7B",
        "gpt2": "GPT-2",
        "gpt2-xl": "GPT-2-XL",
        "bigcode/starcoder": "StarCoder",
        "bigcode/gpt_bigcode-santacoder": "SantaCoder",
        "WizardLM/WizardCoder-15B-V1.0": "WizardCoder-15B",
        "EleutherAI/gpt-j-6b": "GPT-J-6B",
        "nomic-ai/gpt4all-j": "GPT-J",
        "EleutherAI/gpt-neox-20b": "GPT-NeoX-20B",
        "EleutherAI/pythia-12b": "Pythia-12B",
        "OpenAssistant/oasst-sft-4-pythia-12b-epoch-3.5": "OpenAssistant-12B",
        "databricks/dolly-v2-12b": "Dolly-V2-12B",
        "stabilityai/stablelm-tuned-alpha-7b": "StableLM-Alpha-7B",
        "internlm/internlm-7b": "InternLM-7B",
        "internlm/internlm-chat-7b": "InternLM-7B-Chat",
        "internlm/internlm2-7b": "InternLM2-7B",
        "internlm/internlm2-chat-7b": "InternLM2-7B-Chat",
        "core42/jais-13b": "Jais-13B",
        "core42/jais-13b-chat": "Jais-13B-Chat",
        "core42/jais-30b-v3": "Jais-V3-30B",
        "core42/jais-30b-chat-v3": "Jais-V3-30B-Chat",
        "openlm-research/open_llama_13b": "LLaMA-13B",
        "meta-llama/Llama-2-13b-hf": "Llama-2-13B",
        "meta-llama/Llama-2-70b-hf": "Llama-2-70B",
        "meta-llama/Meta-Llama-3-8B-Instruct": "Llama-3-8B-Instruct",
        "meta-llama/Meta-Llama-3-70B-Instruct": "Llama-3-70B-Instruct",
        "meta-llama/Meta-Llama-3.1-8B-Instruct": "Llama-3.1-8B-Instruct",
        "meta-llama/Meta-Llama-3.1-70B-Instruct": "Llama-3.1-70B-Instruct",
        "meta-llama/Meta-Llama-3.1-405B-Instruct": "Llama-3.1-405B-Instruct",
        "meta-llama/Meta-Llama-3.1-405B-Instruct-FP8": "Llama-3.1-405B-Instruct-FP8",
        "meta-llama/Llama-3.2-1B": "Llama-3.2-1B",
        "meta-llama/Llama-3.2-3B": "Llama-3.2-3B",
        "meta-llama/Llama-3.2-1B-Instruct": "Llama-3.2-1B-Instruct",
        "meta-llama/Llama-3.2-3B-Instruct": "Llama-3.2-3B-Instruct",
        "meta-llama/Llama-Guard-3-1B": "Llama-Guard-3-1B",
        "meta-llama/Llama-3.2-11B-Vision": "Llama-3.2-11B-Vision",
        "meta-llama/Llama-3.2-11B-Vision-Instruct": "Llama-3.2-11B-Vision-Instruct",
        "meta-llama/Llama-3.2-90B-Vision": "Llama-3.2-90B-Vision",
        "meta-llama/Llama-3.2-90B-Vision-Instruct": "Llama-3.2-90B-Vision-Instruct",
        "meta-llama/Llama-Guard-3-11B-Vision": "Llama-Guard-3-11B-Vision",
        "meta-llama/Llama-3.3-70B-Instruct": "Llama-3.3-70B-Instruct",
        "lmsys/vicuna-13b-v1.3": "Vicuna-V1-13B",
        "01-ai/Yi-6B": "Yi-6B",
        "01-ai/Yi-34B": "Yi-34B",
        "llava-hf/llava-1.5-7b-hf": "LLaVA-1.5-7B",
        "llava-hf/llava-1.5-13b-hf": "LLaVA-1.5-13B",
    }
)

# Seed 001 "Versions for TensorrtServerOptions" (and the Pytorch/Triton/Nemo lists below).
TENSORRT_SERVER_VERSIONS: tuple[str, ...] = (
    "v24.02",
    "v24.01",
    "v23.12",
    "v23.11",
    "v23.10",
    "v0.10.0",
    "v0.9.0",
    "v0.7.2",
    "custom",
)
PYTORCH_SERVER_VERSIONS: tuple[str, ...] = ("v0.9.0", "v0.8.2", "v0.8.1", "custom")
TRITON_SERVER_VERSIONS: tuple[str, ...] = (
    "v24.02",
    "v24.01",
    "v23.12",
    "v23.11",
    "v23.10",
    "custom",
)
NEMO_SERVER_VERSIONS: tuple[str, ...] = ("v0.9.0", "custom")

# Framework value (lower case) -> the Hugging Face ids its endpoints may name.
_MODELS_BY_FRAMEWORK: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "sglang": SGLANG_MODELS,
        "vllm": VLLM_MODELS,
        "dynamo": tuple(DYNAMO_MODELS),
    }
)

# Framework value (lower case) -> the server versions its endpoints may name.
_VERSIONS_BY_FRAMEWORK: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "tensorrt": TENSORRT_SERVER_VERSIONS,
        "pytorch": PYTORCH_SERVER_VERSIONS,
        "triton": TRITON_SERVER_VERSIONS,
        "nemo-rag": NEMO_SERVER_VERSIONS,
    }
)


def supported_models(framework_value: str) -> tuple[str, ...] | None:
    """The allowed Hugging Face ids for a framework; None where the vendor has no list."""
    return _MODELS_BY_FRAMEWORK.get(framework_value.strip().lower())


def server_versions(framework_value: str) -> tuple[str, ...] | None:
    """The allowed server versions for a framework; None where the vendor has no list."""
    return _VERSIONS_BY_FRAMEWORK.get(framework_value.strip().lower())


def dynamo_display_name(hf_id: str) -> str | None:
    """The name TIR's Dynamo list shows for a model id, or None if it is not listed."""
    return DYNAMO_MODELS.get(_canonical(hf_id, tuple(DYNAMO_MODELS)) or "")


def validate_hf_model(framework_value: str, hf_id: str) -> None:
    """Reject a Hugging Face id that the framework's list does not hold.

    Only sglang, vllm and dynamo have lists; other frameworks accept any id. Hugging Face ids
    are matched case-insensitively, as the Hub itself resolves them.
    """
    allowed = supported_models(framework_value)
    if allowed is None or _canonical(hf_id, allowed) is not None:
        return
    framework = framework_value.strip().lower()
    raise InvalidSpec(
        f"{hf_id!r} is not a supported model for {framework}"
        f"{_suggestion(hf_id, allowed)}; use one of its {len(allowed)} listed ids "
        f"(docs/catalog.md), or {CUSTOM!r} for a model not in the list",
        field=HF_ID_FIELD,
    )


def validate_server_version(framework_value: str, version: str) -> None:
    """Reject a server version outside the framework's list (tensorrt, pytorch, triton, nemo-rag).

    Other frameworks have no version list and accept any value.
    """
    allowed = server_versions(framework_value)
    if allowed is None or version.strip() in allowed:
        return
    framework = framework_value.strip().lower()
    raise InvalidSpec(
        f"server_version {version!r} is not available for {framework}; "
        f"allowed: {', '.join(allowed)}",
        field=SERVER_VERSION_FIELD,
    )


def _canonical(hf_id: str, allowed: tuple[str, ...]) -> str | None:
    wanted = hf_id.strip().lower()
    return next((entry for entry in allowed if entry.lower() == wanted), None)


def _suggestion(hf_id: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(hf_id, allowed, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
