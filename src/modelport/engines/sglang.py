"""SGLang's server: `python -m sglang.launch_server --model-path <model>`."""

from __future__ import annotations

import sys

from modelport.domain.launch import LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import (
    BoolStyle,
    FlagCase,
    engine_flags,
    http_probe,
    missing_module,
    model_reference,
    resolve_probe,
    tensor_parallel,
    with_defaults,
)

ENGINE = "SGLang"
RESERVED_FLAGS = frozenset({"host", "port", "model-path"})
READINESS = http_probe("/health", period=2.0)
LIVENESS = http_probe("/health", period=10.0, timeout=5.0, failure_threshold=3)


class SglangAdapter:
    framework = Framework.SGLANG

    def plan(
        self, spec: EndpointSpec, *, host: str, port: int, env: dict[str, str], name: str
    ) -> LaunchPlan:
        model = model_reference(spec, ENGINE)
        defaults: dict[str, EngineArgValue] = {}
        tp = tensor_parallel(spec)
        if tp is not None:
            defaults["tp-size"] = tp
        if spec.max_concurrency is not None:
            defaults["max-running-requests"] = spec.max_concurrency
        args = with_defaults(spec.engine_args, defaults, FlagCase.KEBAB)
        argv = [sys.executable, "-m", "sglang.launch_server", "--model-path", model]
        argv += ["--host", host, "--port", str(port)]
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
        return LaunchPlan(
            argv=[*argv, *spec.extra_args],
            env=dict(env),
            host=host,
            port=port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
            image=spec.model.image,
        )

    def available(self) -> str | None:
        return missing_module("sglang", ENGINE, "pip install 'sglang[all]'; needs a GPU")
