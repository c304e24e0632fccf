"""NVIDIA Dynamo: an OpenAI frontend plus a vLLM worker, run together as one replica."""

from __future__ import annotations

import shlex
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

ENGINE = "NVIDIA Dynamo"
RESERVED_FLAGS = frozenset({"model", "host", "port", "discovery-backend"})
# Dynamo's frontend has no API key option: not enforced, replica_key stays None.
READINESS = http_probe("/health", period=2.0)
LIVENESS = http_probe("/health", period=10.0, timeout=5.0, failure_threshold=3)

# Both processes start; when either ends, the other is stopped and the replica exits with the
# first one's status, so the controller sees one process that lives or dies as a whole.
_SUPERVISE = "{frontend} & {worker} & wait -n; status=$?; trap '' TERM; kill 0; wait; exit $status"


class DynamoAdapter:
    framework = Framework.DYNAMO

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model = model_reference(spec, ENGINE)
        # File-based discovery needs no etcd/NATS; the namespace keeps replicas on one host
        # from discovering each other's workers.
        discovery = ["--discovery-backend", "file"]
        frontend = [sys.executable, "-m", "dynamo.frontend", "--http-host", ctx.host]
        frontend += ["--http-port", str(ctx.port), *discovery]
        defaults: dict[str, EngineArgValue] = {}
        tp = tensor_parallel(spec)
        if tp is not None:
            defaults["tensor-parallel-size"] = tp
        worker = [sys.executable, "-m", "dynamo.vllm"]
        worker += engine_flags(
            with_defaults(spec.engine_args, defaults, FlagCase.KEBAB),
            case=FlagCase.KEBAB,
            bools=BoolStyle.NEGATABLE,  # the worker takes vLLM's engine flags
            reserved=RESERVED_FLAGS,
            engine=ENGINE,
        )
        worker += checked_extra_args(spec.extra_args, RESERVED_FLAGS)
        worker += ["--model", model, *discovery]  # last: argparse keeps the last
        script = _SUPERVISE.format(frontend=shlex.join(frontend), worker=shlex.join(worker))
        return LaunchPlan(
            argv=["bash", "-c", script],
            env={**ctx.env, "DYN_NAMESPACE": f"modelport-{ctx.port}"},
            host=ctx.host,
            port=ctx.port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
            image=spec.model.image,
        )

    def available(self) -> str | None:
        install = "pip install 'ai-dynamo[vllm]'; needs a GPU"
        return missing_module("dynamo", ENGINE, install) or missing_module(
            "vllm", "vLLM (Dynamo's worker)", install
        )
