"""llama-cpp-python's OpenAI-compatible server over a local GGUF file (CPU-friendly)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

from modelport.domain.errors import InvalidSpec
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
    missing_module,
    resolve_probe,
    with_defaults,
)

ENGINE = "llama.cpp server"

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
RESERVED_FLAGS = frozenset({"model", "host", "port", "config_file", "api_key"})
# The server's settings are pydantic-settings read from the environment too: the key goes in
# API_KEY (argv is world-readable in /proc), and a CONFIG_FILE would replace argv altogether.
KEY_ENV = "API_KEY"
RESERVED_ENV = frozenset({KEY_ENV, "CONFIG_FILE", REPLICA_KEY_ENV})

# The server loads the model before it listens, so any HTTP answer means "loaded". Probes use
# /docs, which takes no lock: /v1/models waits for the model lock behind every generation, and
# with interrupt_requests on, a request waiting on that lock cuts a running stream short.
READINESS = http_probe("/docs", period=1.0)
LIVENESS = http_probe("/docs", period=5.0, timeout=5.0, failure_threshold=3)


class LlamaCppAdapter:
    framework = Framework.LLAMACPP

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        model = _gguf_path(spec)
        check_reserved_env(spec, RESERVED_ENV)
        defaults: dict[str, EngineArgValue] = {
            # Replicas share few cores: one thread per requested core, not one per host core.
            "n_threads": max(1, math.floor(spec.resources.cpu)),
            "n_ctx": 2048,
            # A second request (or a probe) must wait its turn, not end a running stream.
            "interrupt_requests": False,
        }
        args = with_defaults(spec.engine_args, defaults, FlagCase.SNAKE)
        argv = [
            sys.executable,
            "-m",
            "llama_cpp.server",
            *(["--model_alias", ctx.name] if "model_alias" not in args else []),
            *engine_flags(
                args,
                case=FlagCase.SNAKE,
                bools=BoolStyle.VALUE,
                reserved=RESERVED_FLAGS,
                known=KNOWN_FLAGS,
                engine=ENGINE,
            ),
            *checked_extra_args(spec.extra_args, RESERVED_FLAGS),
            # Last: argparse keeps the last value of a flag.
            *["--model", model, "--host", ctx.host, "--port", str(ctx.port)],
        ]
        return LaunchPlan(
            argv=argv,
            env={**ctx.env, **key_env(KEY_ENV, ctx.replica_key)},
            replica_key=ctx.replica_key,
            host=ctx.host,
            port=ctx.port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
        )

    def available(self) -> str | None:
        return missing_module("llama_cpp", ENGINE, "pip install 'llama-cpp-python[server]'")


def _gguf_path(spec: EndpointSpec) -> str:
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
