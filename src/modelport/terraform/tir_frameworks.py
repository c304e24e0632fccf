"""TIR's Go provider's framework tables (constants.go): the Terraform spelling of a framework
(`PYTORCH`) -> the REST value it sends (`pytorch`), and the Hugging Face id it puts in
`detailed_info.hugging_face_id` for a model preset. Modelport's own values (`llamacpp`) and the
REST values themselves are sent as written; the server resolves them."""

from __future__ import annotations

REST_VALUE = {
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
