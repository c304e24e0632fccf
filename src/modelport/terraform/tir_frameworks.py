"""TIR's Go provider's framework tables (constants.go): the Terraform spelling of a framework
(`PYTORCH`) -> the REST value it sends (`pytorch`), and the Hugging Face id it puts in
`detailed_info.hugging_face_id` for a model preset. Modelport's own values (`llamacpp`) and the
REST values themselves are sent as written; the server resolves them."""

from __future__ import annotations

from modelport.catalog.frameworks import TERRAFORM_NAMES

REST_VALUE = TERRAFORM_NAMES  # one table, the catalog's (seed 001)
# Frameworks whose hugging_face_id is the user's; every other one gets the preset's (or "").
USER_HF_ID = frozenset({"VLLM", "DYNAMO", "SGLANG"})
PRESET_HF_ID = {
    "STARCODER": "bigcode/starcoder2-7b",
    "MIXTRAL7B": "mistralai/Mistral-7B-Instruct-v0.1",
    "MIXTRAL8X7B": "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "PHI_3_MINI": "microsoft/Phi-3-mini-128k-instruct",
    "LLAMA": "meta-llama/Llama-2-7b-chat-hf",
    "LLAMA_3": "meta-llama/Meta-Llama-3-8B-Instruct",
    "LLAMA_3_1": "meta-llama/Meta-Llama-3.1-8B-Instruct",
    "LLAMA_3_2": "meta-llama/Llama-3.2-3B-Instruct",
    "LLAMA_3_2_VISION": "meta-llama/Llama-3.2-11B-Vision-Instruct",
    "GEMMA_2B_IT": "google/gemma-2b-it",
    "GEMMA_7B_IT": "google/gemma-7b-it",
    "CODELAMA": "meta-llama/CodeLlama-7b-Instruct-hf",
    "MPT": "mosaicml/mpt-7b-instruct",
    "NEMOTRON": "nvidia/nemotron-3-8b-chat-4k-rlhf",
    "NV_EMBED": "nvidia/NV-Embed-v1",
    "STABLE_DIFFUSION": "stabilityai/stable-diffusion-2-1",
    "STABLE_DIFFUSION_XL": "stabilityai/stable-diffusion-xl-base-1.0",
    "STABLE_VIDEO_DIFFUSION": "stabilityai/stable-video-diffusion-img2vid-xt",
    "PIXTRAL": "mistralai/Pixtral-12B-2409",
}


def rest_value(framework: str) -> str:
    """What the REST body carries for a configured framework."""
    return REST_VALUE.get(framework, framework)


def same_framework(a: str | None, b: str | None) -> bool:
    """Whether two spellings name one framework (`PYTORCH`, `pytorch`, `PyTorch`)."""
    if a is None or b is None:
        return a is b
    return rest_value(a).lower() == rest_value(b).lower()


def hugging_face_id(framework: str, configured: str) -> str:
    """detailed_info.hugging_face_id as TIR's provider sends it: the preset's for a model preset,
    the configured one for VLLM / SGLANG / DYNAMO and for frameworks its table does not know
    (Modelport's llamacpp, REST spellings)."""
    if framework in USER_HF_ID or framework not in REST_VALUE:
        return configured
    return PRESET_HF_ID.get(framework, "")
