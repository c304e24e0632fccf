"""llama-cpp-python's OpenAI-compatible server over a local GGUF file (CPU-friendly).

Flags: abetlen/llama-cpp-python `llama_cpp/server/settings.py` (ModelSettings, ServerSettings;
argparse from the pydantic fields, snake case, booleans as values). Health: the server loads
the model before it listens; `/docs` is FastAPI's. Metrics: none (no Prometheus route).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import check_serve_type, plan
from modelport.engines.flags import REPLICA_KEY_ENV, BoolStyle, FlagCase
from modelport.engines.profile import (
    EngineProfile,
    Image,
    LoraFlags,
    Need,
    NeedKind,
    http_probe,
)

# Flags of llama_cpp.server 0.3.x (llama_cpp.server.settings.Settings), less those we set.
KNOWN_FLAGS = frozenset(
    " ".join(
        (
            "api_key cache cache_size cache_type chat_format chat_template_kwargs",
            "clip_model_path disable_ping_events draft_model draft_model_num_pred_tokens",
            "embedding flash_attn hf_model_repo_id hf_pretrained_model_name_or_path",
            "hf_tokenizer_config_path interrupt_requests kv_overrides last_n_tokens_size",
            "logits_all lora_base lora_path main_gpu model_alias mul_mat_q n_batch n_ctx",
            "n_gpu_layers n_threads n_threads_batch n_ubatch numa offload_kqv root_path",
            "rope_freq_base rope_freq_scale rope_scaling_type rpc_servers seed split_mode",
            "ssl_certfile ssl_keyfile tensor_split type_k type_v use_mlock use_mmap verbose",
            "vocab_only yarn_attn_factor yarn_beta_fast yarn_beta_slow yarn_ext_factor",
            "yarn_orig_ctx",
        )
    ).split(" ")
)
# The server's settings are pydantic-settings read from the environment too: the key goes in
# API_KEY (argv is world-readable in /proc), and a CONFIG_FILE would replace argv altogether.
KEY_ENV = "API_KEY"

# The server loads the model before it listens, so any HTTP answer means "loaded". Probes use
# /docs, which takes no lock: /v1/models waits for the model lock behind every generation, and
# with interrupt_requests on, a request waiting on that lock cuts a running stream short.
READINESS = http_probe("/docs", period=1.0)
LIVENESS = http_probe("/docs", period=5.0, timeout=5.0, failure_threshold=3)

PROFILE = EngineProfile(
    framework=Framework.LLAMACPP,
    engine="llama.cpp server",
    program=(sys.executable, "-m", "llama_cpp.server"),
    case=FlagCase.SNAKE,
    bools=BoolStyle.VALUE,
    reserved=frozenset({"model", "host", "port", "config_file", "api_key"}),
    known=KNOWN_FLAGS,
    reserved_env=frozenset({KEY_ENV, "CONFIG_FILE", REPLICA_KEY_ENV}),
    key_env=KEY_ENV,
    model_flag="model",
    host_flag="host",
    port_flag="port",
    served_name_flag="model_alias",
    lora=LoraFlags(switch=None, flag="lora_path", named=False),
    readiness=READINESS,
    liveness=LIVENESS,
    # Built locally from a Python base with llama-cpp-python[server] (tests/support).
    image=Image(
        repository="modelport/llamacpp",
        default_tag="latest",
        entrypoint=("python3", "-m", "llama_cpp.server"),
    ),
    needs=(Need(NeedKind.MODULE, "llama_cpp", "llama.cpp server"),),
    install="pip install 'llama-cpp-python[server]'",
)


class LlamaCppAdapter:
    framework = Framework.LLAMACPP

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model, lora = _gguf_and_lora(spec, ctx)
        defaults: dict[str, EngineArgValue] = {
            # Replicas share few cores: one thread per requested core, not one per host core.
            "n_threads": max(1, math.floor(spec.resources.cpu)),
            "n_ctx": 2048,
            # A second request (or a probe) must wait its turn, not end a running stream.
            "interrupt_requests": False,
        }
        if not spec.logging.info:  # the server logs llama.cpp's own output unless told not to
            defaults["verbose"] = False
        return plan(
            PROFILE, spec, ctx, model=model, served_names=[ctx.name], lora=lora, defaults=defaults
        )

    def available(self) -> str | None:
        return PROFILE.available()


def _gguf_and_lora(spec: EndpointSpec, ctx: LaunchContext) -> tuple[str, tuple[str, str] | None]:
    """The GGUF to serve, and a LoRA adapter (peft-model): with a LoRA, model.path is the base
    GGUF and the fetched files (model.model_id) the adapter; else the fetched files win."""
    if check_serve_type(PROFILE, spec):
        if ctx.model_path is None:
            raise InvalidSpec(
                "model.model_id: a peft-model on llamacpp loads its LoRA adapter from the "
                "model repository (model.model_id) over the GGUF in model.path",
                field="model.model_id",
            )
        return _user_gguf(spec), (ctx.name, ctx.model_path)
    if ctx.model_path is not None:  # fetched and checked by Modelport
        return _single_gguf(ctx.model_path), None
    return _user_gguf(spec), None


def _user_gguf(spec: EndpointSpec) -> str:
    path = spec.model.path
    if not path:
        raise InvalidSpec(
            "model.path: llamacpp serves a local GGUF file; set model.path "
            "(a Hugging Face id alone cannot be fetched offline)",
            field="model.path",
        )
    if not Path(path).is_file():
        raise InvalidSpec(f"model.path: no GGUF file at {path!r} on this host", field="model.path")
    return path


def _single_gguf(path: str) -> str:
    """A fetched directory holding one .gguf serves that file; a file serves itself."""
    found = sorted(Path(path).glob("*.gguf")) if Path(path).is_dir() else []
    return str(found[0]) if len(found) == 1 else path
