"""NVIDIA Triton Inference Server over a model repository directory."""

from __future__ import annotations

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import (
    BoolStyle,
    FlagCase,
    checked_extra_args,
    engine_flags,
    http_probe,
    missing_executable,
    resolve_probe,
    with_defaults,
)

ENGINE = "Triton Inference Server"
RESERVED_FLAGS = frozenset({"http-port", "http-address", "model-repository", "model-store"})
# Triton has no per-server API key on its HTTP endpoint: a Triton replica's port answers any
# local caller (docs/security.md). replica_key stays None, so the gateway sends none.
READINESS = http_probe("/v2/health/ready", period=2.0)
LIVENESS = http_probe("/v2/health/live", period=10.0, timeout=5.0, failure_threshold=3)

# A replica gets one port. gRPC and metrics would each need another (their defaults, 8001 and
# 8002, clash between replicas), so they are off unless engine_args turn them on with a port.
_DEFAULTS: dict[str, EngineArgValue] = {"allow-grpc": False, "allow-metrics": False}


class TritonAdapter:
    framework = Framework.TRITON

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        repository = spec.model.path
        if not repository:
            raise InvalidSpec(
                "model.path: Triton serves a model repository directory; set model.path",
                field="model.path",
            )
        argv = [
            "tritonserver",
            *engine_flags(
                with_defaults(spec.engine_args, _DEFAULTS, FlagCase.KEBAB),
                case=FlagCase.KEBAB,
                bools=BoolStyle.VALUE,
                reserved=RESERVED_FLAGS,
                engine=ENGINE,
                joined=True,  # Triton's own spelling: --allow-grpc=false
            ),
            *checked_extra_args(spec.extra_args, RESERVED_FLAGS),
            # Last: tritonserver keeps the last value of an option.
            f"--model-repository={repository}",
            f"--http-address={ctx.host}",
            f"--http-port={ctx.port}",
        ]
        return LaunchPlan(
            argv=argv,
            env=dict(ctx.env),
            host=ctx.host,
            port=ctx.port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
            image=spec.model.image,
        )

    def available(self) -> str | None:
        return missing_executable(
            "tritonserver", ENGINE, "install Triton or run it with the docker runtime"
        )
