"""TensorRT-LLM's OpenAI-compatible server: `trtllm-serve <model>`."""

from __future__ import annotations

from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import (
    BoolStyle,
    FlagCase,
    checked_extra_args,
    engine_flags,
    http_probe,
    missing_executable,
    model_reference,
    resolve_probe,
    tensor_parallel,
    with_defaults,
)

ENGINE = "TensorRT-LLM"
RESERVED_FLAGS = frozenset({"host", "port"})
# trtllm-serve has no API key option (NVIDIA/TensorRT-LLM#9950): not enforced, replica_key None.
READINESS = http_probe("/health", period=2.0)
LIVENESS = http_probe("/health", period=10.0, timeout=5.0, failure_threshold=3)


class TensorRtAdapter:
    framework = Framework.TENSORRT

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model = model_reference(spec, ENGINE)
        defaults: dict[str, EngineArgValue] = {}
        tp = tensor_parallel(spec)
        if tp is not None:
            defaults["tp_size"] = tp
        if spec.max_concurrency is not None:
            defaults["max_batch_size"] = spec.max_concurrency
        args = with_defaults(spec.engine_args, defaults, FlagCase.SNAKE)
        argv = ["trtllm-serve", model]
        if spec.model.tokenizer:
            argv += ["--tokenizer", spec.model.tokenizer]
        argv += engine_flags(
            args,
            case=FlagCase.SNAKE,  # trtllm-serve spells its flags --tp_size, --max_batch_size
            bools=BoolStyle.SWITCH,
            reserved=RESERVED_FLAGS,
            engine=ENGINE,
        )
        argv += checked_extra_args(spec.extra_args, RESERVED_FLAGS)
        return LaunchPlan(
            argv=[*argv, "--host", ctx.host, "--port", str(ctx.port)],  # last: click keeps the last
            env=dict(ctx.env),
            host=ctx.host,
            port=ctx.port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
            image=spec.model.image,
        )

    def available(self) -> str | None:
        return missing_executable(
            "trtllm-serve", ENGINE, "pip install tensorrt_llm; needs an NVIDIA GPU"
        )
