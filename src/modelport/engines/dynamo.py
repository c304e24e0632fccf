"""NVIDIA Dynamo: an OpenAI frontend plus a vLLM worker, run together as one replica.

Flags: ai-dynamo/dynamo `components/src/dynamo/frontend/main.py` (--http-host, --http-port,
--discovery-backend) and `components/src/dynamo/vllm/args.py` (the worker takes --model and
vLLM's engine flags: --tensor-parallel-size, --max-num-seqs, ...); log level from DYN_LOG.
Health `/health` and `/metrics` on the frontend's HTTP port (`lib/llm/src/http/service`).
"""

from __future__ import annotations

import shlex
import sys

from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, Framework
from modelport.engines.common import (
    LogLevel,
    engine_arguments,
    finish,
    flag_arguments,
    log_level,
    model_or_lora,
)
from modelport.engines.flags import BoolStyle, FlagCase
from modelport.engines.profile import EngineProfile, Image, Need, NeedKind, health_probes

READINESS, LIVENESS = health_probes("/health")
INSTALL = "pip install 'ai-dynamo[vllm]'; needs a GPU"

PROFILE = EngineProfile(
    framework=Framework.DYNAMO,
    engine="NVIDIA Dynamo",
    program=("bash",),  # a supervising script runs the frontend and the worker
    case=FlagCase.KEBAB,
    bools=BoolStyle.NEGATABLE,  # the worker takes vLLM's engine flags
    reserved=frozenset({"model", "host", "port", "discovery-backend"}),
    # Dynamo's frontend has no API key option: not enforced, replica_key stays None.
    model_flag="model",
    host_flag="http-host",
    port_flag="http-port",
    tp_flag="tensor-parallel-size",
    batch=("max-num-seqs", "{n}"),
    readiness=READINESS,
    liveness=LIVENESS,
    metrics_path="/metrics",
    image=Image(
        repository="nvcr.io/nvidia/ai-dynamo/vllm-runtime",
        default_tag="latest",
        entrypoint=("bash",),
    ),
    needs=(
        Need(NeedKind.MODULE, "dynamo", "NVIDIA Dynamo"),
        Need(NeedKind.MODULE, "vllm", "vLLM (Dynamo's worker)"),
    ),
    install=INSTALL,
)

# Both processes start; when either ends, the other is stopped and the replica exits with the
# first one's status, so the controller sees one process that lives or dies as a whole.
_SUPERVISE = "{frontend} & {worker} & wait -n; status=$?; trap '' TERM; kill 0; wait; exit $status"


class DynamoAdapter:
    framework = Framework.DYNAMO

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model, _ = model_or_lora(PROFILE, spec, ctx)  # refuses a peft-model
        flags = flag_arguments(PROFILE, spec, engine_arguments(PROFILE, spec, None))
        env = {**ctx.env, "DYN_NAMESPACE": f"modelport-{ctx.port}"}
        level = log_level(spec.logging)
        if level is not LogLevel.INFO:
            env["DYN_LOG"] = level.value
        return finish(
            PROFILE,
            spec,
            ctx,
            argv=["bash", "-c", _script(sys.executable, ctx, flags, model)],
            env=env,
            container_args=["-c", _script("python3", ctx, flags, model)],
        )

    def available(self) -> str | None:
        return PROFILE.available()


def _script(python: str, ctx: LaunchContext, flags: list[str], model: str) -> str:
    # File-based discovery needs no etcd/NATS; the namespace keeps replicas on one host
    # from discovering each other's workers.
    discovery = ["--discovery-backend", "file"]
    frontend = [python, "-m", "dynamo.frontend", "--http-host", ctx.host]
    frontend += ["--http-port", str(ctx.port), *discovery]
    worker = [python, "-m", "dynamo.vllm", *flags, "--model", model, *discovery]
    return _SUPERVISE.format(frontend=shlex.join(frontend), worker=shlex.join(worker))
