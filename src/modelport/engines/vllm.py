"""vLLM's OpenAI-compatible server: `vllm serve <model>`."""

from __future__ import annotations

from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import (
    REPLICA_KEY_ENV,
    BoolStyle,
    FlagCase,
    check_reserved_env,
    checked_extra_args,
    engine_flags,
    http_probe,
    key_env,
    missing_executable,
    model_reference,
    resolve_probe,
    tensor_parallel,
    with_defaults,
)

ENGINE = "vLLM"
RESERVED_FLAGS = frozenset({"host", "port", "model", "api-key", "config"})
# vLLM reads its key from VLLM_API_KEY, which keeps it out of argv (world-readable in /proc).
# It checks the key on /v1 routes only (docs.vllm.ai, "Security"): other routes stay open to
# local callers, so the key narrows rather than closes direct access to a vLLM replica.
KEY_ENV = "VLLM_API_KEY"
READINESS = http_probe("/health", period=2.0)
# /health answers while requests run; a busy GPU can still be slow to reply.
LIVENESS = http_probe("/health", period=10.0, timeout=5.0, failure_threshold=3)


class VllmAdapter:
    framework = Framework.VLLM

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model = model_reference(spec, ENGINE)
        check_reserved_env(spec, {KEY_ENV, REPLICA_KEY_ENV})
        args = with_defaults(spec.engine_args, _defaults(spec), FlagCase.KEBAB)
        argv = ["vllm", "serve", model]
        if spec.model.revision:
            argv += ["--revision", spec.model.revision]
        if spec.model.tokenizer:
            argv += ["--tokenizer", spec.model.tokenizer]
        if "served-model-name" not in args:
            # Answer to the endpoint's name and to the model id clients usually send.
            argv += ["--served-model-name", *_served_names(spec, ctx.name)]
        argv += engine_flags(
            args,
            case=FlagCase.KEBAB,
            bools=BoolStyle.NEGATABLE,
            reserved=RESERVED_FLAGS,
            engine=ENGINE,
        )
        argv += checked_extra_args(spec.extra_args, RESERVED_FLAGS)
        return LaunchPlan(
            # Last: argparse keeps the last value of an option.
            argv=[*argv, "--host", ctx.host, "--port", str(ctx.port)],
            env={**ctx.env, **key_env(KEY_ENV, ctx.replica_key)},
            replica_key=ctx.replica_key,
            host=ctx.host,
            port=ctx.port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
            image=spec.model.image,
        )

    def available(self) -> str | None:
        return missing_executable("vllm", ENGINE, "pip install vllm; needs a GPU")


def _defaults(spec: EndpointSpec) -> dict[str, EngineArgValue]:
    defaults: dict[str, EngineArgValue] = {}
    tp = tensor_parallel(spec)
    if tp is not None:
        defaults["tensor-parallel-size"] = tp
    if spec.max_concurrency is not None:
        defaults["max-num-seqs"] = spec.max_concurrency
    return defaults


def _served_names(spec: EndpointSpec, name: str) -> list[str]:
    hf_id = spec.model.hf_id
    return [hf_id, name] if hf_id and hf_id != name else [name]
