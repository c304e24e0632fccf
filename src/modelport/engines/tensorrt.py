"""TensorRT-LLM's OpenAI-compatible server: `trtllm-serve <model>`.

Flags: NVIDIA/TensorRT-LLM `tensorrt_llm/commands/serve.py` (click options in snake case:
--tokenizer, --tp_size, --max_batch_size, --log_level, --host, --port; the model is the
positional argument) and `docs/source/commands/trtllm-serve.rst`. Health `/health` and
`/metrics`: `tensorrt_llm/serve/openai_server.py`. No API key option (NVIDIA/TensorRT-LLM#9950),
no LoRA modules on the command line.
"""

from __future__ import annotations

from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, Framework
from modelport.engines.common import model_or_lora, plan
from modelport.engines.flags import BoolStyle, FlagCase
from modelport.engines.profile import EngineProfile, Image, Need, NeedKind, health_probes

READINESS, LIVENESS = health_probes("/health")

PROFILE = EngineProfile(
    framework=Framework.TENSORRT,
    engine="TensorRT-LLM",
    program=("trtllm-serve",),
    case=FlagCase.SNAKE,  # trtllm-serve spells its flags --tp_size, --max_batch_size
    bools=BoolStyle.SWITCH,
    reserved=frozenset({"host", "port"}),
    model_flag=None,  # trtllm-serve <model>
    host_flag="host",
    port_flag="port",
    tokenizer_flag="tokenizer",
    tp_flag="tp_size",
    batch=("max_batch_size", "{n}"),
    log_level_flag="log_level",
    readiness=READINESS,
    liveness=LIVENESS,
    metrics_path="/metrics",
    image=Image(
        repository="nvcr.io/nvidia/tensorrt-llm/release",
        default_tag="latest",
        entrypoint=("trtllm-serve",),
    ),
    needs=(Need(NeedKind.EXECUTABLE, "trtllm-serve", "TensorRT-LLM"),),
    install="pip install tensorrt_llm; needs an NVIDIA GPU",
)


class TensorRtAdapter:
    framework = Framework.TENSORRT

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model, _ = model_or_lora(PROFILE, spec, ctx)  # refuses a peft-model
        return plan(PROFILE, spec, ctx, model=model)

    def available(self) -> str | None:
        return PROFILE.available()
