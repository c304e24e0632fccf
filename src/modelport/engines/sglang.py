"""SGLang's server: `python -m sglang.launch_server --model-path <model>`.

Flags: sgl-project/sglang `python/sglang/srt/server_args.py` (ServerArgs.add_cli_args:
--model-path, --tokenizer-path, --revision, --served-model-name, --tp-size,
--max-running-requests, --disable-radix-cache, --enable-hierarchical-cache, --lora-paths
name=path, --log-level, --api-key). Health `/health` and Prometheus `/metrics` (with
--enable-metrics): `python/sglang/srt/entrypoints/http_server.py`.
"""

from __future__ import annotations

import sys

from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, Framework
from modelport.engines.common import model_or_lora, plan
from modelport.engines.flags import BoolStyle, FlagCase
from modelport.engines.multinode import NodeFlags
from modelport.engines.profile import EngineProfile, Image, LoraFlags, Need, NeedKind, health_probes

READINESS, LIVENESS = health_probes("/health")

PROFILE = EngineProfile(
    framework=Framework.SGLANG,
    engine="SGLang",
    program=(sys.executable, "-m", "sglang.launch_server"),
    case=FlagCase.KEBAB,
    bools=BoolStyle.SWITCH,
    # --model is an alias of --model-path in recent releases. SGLang takes its key only as
    # --api-key, so it shows in the replica's argv (`ps`, /proc/PID/cmdline).
    reserved=frozenset({"host", "port", "model-path", "model", "api-key"}),
    key_flag="api-key",
    model_flag="model-path",
    host_flag="host",
    port_flag="port",
    revision_flag="revision",
    tokenizer_flag="tokenizer-path",
    served_name_flag="served-model-name",
    tp_flag="tp-size",
    batch=("max-running-requests", "{n}"),
    log_level_flag="log-level",
    lora=LoraFlags(switch=None, flag="lora-paths", named=True),
    nodes=NodeFlags(
        count="nnodes", rank="node-rank", address="dist-init-addr", port=None, tp_per_node=False
    ),
    readiness=READINESS,
    liveness=LIVENESS,
    metrics_path="/metrics",
    image=Image(
        repository="lmsysorg/sglang",
        default_tag="latest",
        entrypoint=("python3", "-m", "sglang.launch_server"),
    ),
    needs=(Need(NeedKind.MODULE, "sglang", "SGLang"),),
    install="pip install 'sglang[all]'; needs a GPU",
)


class SglangAdapter:
    framework = Framework.SGLANG

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model, lora = model_or_lora(PROFILE, spec, ctx)
        # One served name: the endpoint's, or with a LoRA the base's id (the adapter has ours).
        names = [spec.model.hf_id or model] if lora else [ctx.name]
        return plan(PROFILE, spec, ctx, model=model, served_names=names, lora=lora)

    def available(self) -> str | None:
        return PROFILE.available()
