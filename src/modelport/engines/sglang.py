"""SGLang's server: `python -m sglang.launch_server --model-path <model>`."""

from __future__ import annotations

import sys

from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import (
    BoolStyle,
    FlagCase,
    checked_extra_args,
    engine_flags,
    http_probe,
    missing_module,
    model_reference,
    resolve_probe,
    tensor_parallel,
    with_defaults,
)

ENGINE = "SGLang"
# --model is an alias of --model-path in recent releases. SGLang takes its key only as
# --api-key, so it shows in the replica's argv (`ps`, /proc/PID/cmdline).
RESERVED_FLAGS = frozenset({"host", "port", "model-path", "model", "api-key"})
READINESS = http_probe("/health", period=2.0)
LIVENESS = http_probe("/health", period=10.0, timeout=5.0, failure_threshold=3)


class SglangAdapter:
    framework = Framework.SGLANG

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model = model_reference(spec, ENGINE)
        defaults: dict[str, EngineArgValue] = {}
        tp = tensor_parallel(spec)
        if tp is not None:
            defaults["tp-size"] = tp
        if spec.max_concurrency is not None:
            defaults["max-running-requests"] = spec.max_concurrency
        args = with_defaults(spec.engine_args, defaults, FlagCase.KEBAB)
        argv = [sys.executable, "-m", "sglang.launch_server"]
        if spec.model.revision:
            argv += ["--revision", spec.model.revision]
        if spec.model.tokenizer:
            argv += ["--tokenizer-path", spec.model.tokenizer]
        argv += engine_flags(
            args,
            case=FlagCase.KEBAB,
            bools=BoolStyle.SWITCH,
            reserved=RESERVED_FLAGS,
            engine=ENGINE,
        )
        argv += checked_extra_args(spec.extra_args, RESERVED_FLAGS)
        # Last: argparse keeps the last value of a flag.
        argv += ["--model-path", model, "--host", ctx.host, "--port", str(ctx.port)]
        if ctx.replica_key is not None:
            argv += ["--api-key", ctx.replica_key]
        return LaunchPlan(
            argv=argv,
            env=dict(ctx.env),
            replica_key=ctx.replica_key,
            host=ctx.host,
            port=ctx.port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
            image=spec.model.image,
        )

    def available(self) -> str | None:
        return missing_module("sglang", ENGINE, "pip install 'sglang[all]'; needs a GPU")
