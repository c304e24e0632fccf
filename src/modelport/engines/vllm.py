"""vLLM's OpenAI-compatible server: `vllm serve <model>`.

Flags: vllm-project/vllm `vllm/engine/arg_utils.py` (EngineArgs.add_cli_args: --tokenizer,
--revision, --tensor-parallel-size, --max-num-seqs, --enable-prefix-caching (negatable),
--cpu-offload-gb, --kv-offloading-size, --enable-lora, --lora-modules) and
`vllm/entrypoints/openai/cli_args.py` (--served-model-name, --uvicorn-log-level,
--disable-log-requests, --api-key / VLLM_API_KEY). Health `/health` and Prometheus `/metrics`:
`vllm/entrypoints/openai/api_server.py`.
"""

from __future__ import annotations

from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import model_or_lora, plan
from modelport.engines.flags import REPLICA_KEY_ENV, BoolStyle, FlagCase
from modelport.engines.multinode import NodeFlags
from modelport.engines.profile import EngineProfile, Image, LoraFlags, Need, NeedKind, health_probes

# vLLM reads its key from VLLM_API_KEY, which keeps it out of argv (world-readable in /proc).
# It checks the key on /v1 routes only (docs.vllm.ai, "Security"): other routes stay open to
# local callers, so the key narrows rather than closes direct access to a vLLM replica.
KEY_ENV = "VLLM_API_KEY"
# /health answers while requests run; a busy GPU can still be slow to reply.
READINESS, LIVENESS = health_probes("/health")

PROFILE = EngineProfile(
    framework=Framework.VLLM,
    engine="vLLM",
    program=("vllm", "serve"),
    case=FlagCase.KEBAB,
    bools=BoolStyle.NEGATABLE,
    reserved=frozenset({"host", "port", "model", "api-key", "config"}),
    reserved_env=frozenset({KEY_ENV, REPLICA_KEY_ENV}),
    key_env=KEY_ENV,
    model_flag=None,  # vllm serve <model>
    host_flag="host",
    port_flag="port",
    revision_flag="revision",
    tokenizer_flag="tokenizer",
    served_name_flag="served-model-name",
    tp_flag="tensor-parallel-size",
    batch=("max-num-seqs", "{n}"),
    log_level_flag="uvicorn-log-level",
    lora=LoraFlags(switch="enable-lora", flag="lora-modules", named=True),
    nodes=NodeFlags(
        count="nnodes",
        rank="node-rank",
        address="master-addr",
        port="master-port",
        tp_per_node=True,
        pipeline="pipeline-parallel-size",
        every=("--distributed-executor-backend", "mp"),
        workers=("--headless",),
    ),
    readiness=READINESS,
    liveness=LIVENESS,
    metrics_path="/metrics",
    image=Image(repository="vllm/vllm-openai", default_tag="latest", entrypoint=("vllm", "serve")),
    needs=(Need(NeedKind.EXECUTABLE, "vllm", "vLLM"),),
    install="pip install vllm; needs a GPU",
)


class VllmAdapter:
    framework = Framework.VLLM

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model, lora = model_or_lora(PROFILE, spec, ctx)
        # Answer to the endpoint's name and to the model id clients usually send; with a LoRA,
        # the endpoint's name is the adapter's and the base answers to its id.
        names = [spec.model.hf_id or model] if lora else _served_names(spec, ctx.name)
        defaults: dict[str, EngineArgValue] = {}
        if not spec.logging.info:
            defaults["disable-log-requests"] = True
        return plan(
            PROFILE, spec, ctx, model=model, served_names=names, lora=lora, defaults=defaults
        )

    def available(self) -> str | None:
        return PROFILE.available()


def _served_names(spec: EndpointSpec, name: str) -> list[str]:
    hf_id = spec.model.hf_id
    return [hf_id, name] if hf_id and hf_id != name else [name]
