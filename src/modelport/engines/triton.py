"""NVIDIA Triton Inference Server over a model repository directory.

Flags: triton-inference-server/server `src/command_line_parser.cc` (--model-repository,
--http-address, --http-port, --allow-grpc, --allow-metrics, --log-verbose=<int>,
--log-info/--log-warning/--log-error=<bool>, --backend-config=default-max-batch-size=<n>, which
sets max_batch_size of models whose config.pbtxt leaves it to auto-complete;
docs/user_guide/model_configuration.md). Health `/v2/health/ready` and `/v2/health/live`:
`src/http_server.cc`. Metrics are on their own port (8002), off here.
"""

from __future__ import annotations

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework, LogOptions
from modelport.engines.common import check_serve_type, plan
from modelport.engines.flags import BoolStyle, FlagCase
from modelport.engines.profile import EngineProfile, Image, Need, NeedKind, http_probe

# Triton has no per-server API key on its HTTP endpoint: a Triton replica's port answers any
# local caller (docs/security.md). replica_key stays None, so the gateway sends none.
READINESS = http_probe("/v2/health/ready", period=2.0)
LIVENESS = http_probe("/v2/health/live", period=10.0, timeout=5.0, failure_threshold=3)

PROFILE = EngineProfile(
    framework=Framework.TRITON,
    engine="Triton Inference Server",
    program=("tritonserver",),
    case=FlagCase.KEBAB,
    bools=BoolStyle.VALUE,
    joined=True,  # Triton's own spelling: --allow-grpc=false
    reserved=frozenset({"http-port", "http-address", "model-repository", "model-store"}),
    model_flag="model-repository",
    host_flag="http-address",
    port_flag="http-port",
    batch=("backend-config", "default-max-batch-size={n}"),
    readiness=READINESS,
    liveness=LIVENESS,
    image=Image(
        repository="nvcr.io/nvidia/tritonserver",
        default_tag="25.01-py3",
        entrypoint=("tritonserver",),
    ),
    needs=(Need(NeedKind.EXECUTABLE, "tritonserver", "Triton Inference Server"),),
    install="install Triton or run it with the docker runtime",
)


class TritonAdapter:
    framework = Framework.TRITON

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        check_serve_type(PROFILE, spec)
        repository = ctx.model_path or spec.model.path
        if not repository:
            raise InvalidSpec(
                "model.path: Triton serves a model repository directory; set model.path",
                field="model.path",
            )
        # A replica gets one port. gRPC and metrics would each need another (their defaults,
        # 8001 and 8002, clash between replicas), so they are off unless engine_args turn them
        # on with a port.
        defaults: dict[str, EngineArgValue] = {"allow-grpc": False, "allow-metrics": False}
        defaults.update(_log_flags(spec.logging))
        return plan(PROFILE, spec, ctx, model=repository, defaults=defaults)

    def available(self) -> str | None:
        return PROFILE.available()


def _log_flags(options: LogOptions) -> dict[str, EngineArgValue]:
    """Triton's own log switches, where they differ from its defaults (all on, verbose 0);
    TIR's verbose_level 1, the default, is Triton's 0."""
    flags: dict[str, EngineArgValue] = {
        f"log-{name}": False
        for name, on in (
            ("info", options.info),
            ("warning", options.warning),
            ("error", options.error),
        )
        if not on
    }
    if options.verbose_level > 1:
        flags["log-verbose"] = options.verbose_level - 1
    return flags
