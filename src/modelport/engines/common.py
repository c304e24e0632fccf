"""The one plan(): an engine profile, a spec and a launch context in, a LaunchPlan out.

Argument order, for every engine: program, positional model, lead flags (revision, tokenizer,
served name, LoRA), engine_args over Modelport's defaults, extra_args, then the flags Modelport
reserves (model, address, key) last, since argparse, click and tritonserver keep the last value.
The same arguments run as a local process (`argv`) and in the engine's image (`container`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import ContainerPlan, LaunchContext, LaunchPlan, MountPlan
from modelport.domain.specs import (
    EndpointSpec,
    EngineArgValue,
    LogOptions,
    ProbeProtocol,
    ProbeSpec,
    PullPolicy,
)
from modelport.engines import multinode
from modelport.engines.flags import (
    check_reserved_env,
    checked_extra_args,
    engine_flags,
    flag_name,
    key_env,
    with_defaults,
)
from modelport.engines.multinode import node_ranks
from modelport.engines.profile import EngineProfile

PEFT = "peft-model"  # model.serve_type of a LoRA adapter over a base model
_BATCH_ARG = "max_batch_size"  # the seeds' name (TIR engine_args, DeepInfra) for the max batch


class LogLevel(StrEnum):
    """spec.logging as one level, in the spelling vLLM, SGLang and trtllm-serve take."""

    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


def log_level(options: LogOptions) -> LogLevel:
    """The most detailed level asked for; verbose_level 1 (the default) is plain info."""
    if options.info:
        return LogLevel.DEBUG if options.verbose_level > 1 else LogLevel.INFO
    if options.warning:
        return LogLevel.WARNING
    return LogLevel.ERROR if options.error else LogLevel.CRITICAL


def plan(
    profile: EngineProfile,
    spec: EndpointSpec,
    ctx: LaunchContext,
    *,
    model: str,
    served_names: Sequence[str] = (),
    lora: tuple[str, str] | None = None,
    defaults: Mapping[str, EngineArgValue] | None = None,
) -> LaunchPlan:
    """The plan of an engine driven by flags. `model` is what it loads (model_or_lora),
    `served_names` what it answers to, `lora` a LoRA adapter (served name, path), and
    `defaults` the adapter's own defaults, after the profile's (tensor parallel, batch, logs)."""
    check_reserved_env(spec, profile.reserved_env)
    args = engine_arguments(profile, spec, defaults)
    argv = [*profile.program, *([] if profile.model_flag else [model])]
    argv += _lead_flags(profile, spec, args, served_names, lora)
    argv += flag_arguments(profile, spec, args)
    argv += _flag_pairs(profile, _tail(profile, ctx, model))
    if spec.resources.nodes > 1 and profile.nodes is not None:
        first, *others = node_ranks(profile.nodes, spec, ctx)
        further = [[*argv, *flags] for flags in others]
        return finish(profile, spec, ctx, argv=[*argv, *first], env=dict(ctx.env), nodes=further)
    return finish(profile, spec, ctx, argv=argv, env=dict(ctx.env))


def engine_arguments(
    profile: EngineProfile, spec: EndpointSpec, defaults: Mapping[str, EngineArgValue] | None
) -> dict[str, EngineArgValue]:
    """engine_args over the profile's defaults (tensor parallel, batch, log level), then over
    the adapter's `defaults`: what the user set wins in either spelling."""
    user, batch = _batch_from_engine_args(profile, spec.engine_args)
    given = {**_defaults(profile, spec, batch), **(defaults or {})}
    return with_defaults(user, given, profile.case)


def flag_arguments(
    profile: EngineProfile, spec: EndpointSpec, args: Mapping[str, EngineArgValue]
) -> list[str]:
    """`args` as the engine's flags, then spec.extra_args; reserved flags refused in both."""
    return [
        *engine_flags(
            args,
            case=profile.case,
            bools=profile.bools,
            reserved=profile.reserved,
            known=profile.known,
            engine=profile.engine,
            joined=profile.joined,
        ),
        *checked_extra_args(spec.extra_args, profile.reserved),
    ]


def finish(
    profile: EngineProfile,
    spec: EndpointSpec,
    ctx: LaunchContext,
    *,
    argv: list[str],
    env: dict[str, str],
    container_args: list[str] | None = None,
    nodes: list[list[str]] | None = None,
) -> LaunchPlan:
    """The LaunchPlan of `argv`: key, probes, the container running the same arguments
    (`container_args` when they differ, e.g. a script naming the local interpreter), mounts;
    `nodes`: the further nodes' commands of a replica across nodes."""
    if spec.resources.nodes > 1 and not nodes:
        raise InvalidSpec(
            f"resources.nodes: {profile.engine} cannot span nodes; vllm and sglang can "
            "(on the ray runtime)",
            field="resources.nodes",
        )
    keyed = profile.key_env is not None or profile.key_flag is not None
    if profile.key_env is not None:
        env = {**env, **key_env(profile.key_env, ctx.replica_key)}
    args = argv[len(profile.program) :] if container_args is None else container_args
    return LaunchPlan(
        argv=argv,
        env=env,
        replica_key=ctx.replica_key if keyed else None,
        host=ctx.host,
        port=ctx.port,
        readiness=resolve_probe(spec.readiness, profile.readiness),
        liveness=resolve_probe(spec.liveness, profile.liveness),
        image=spec.model.image,
        container=container(profile, spec, ctx, args),
        mounts=mounts(spec, ctx),
        resources=spec.resources,
        node_argv=nodes or [],
    )


def container(
    profile: EngineProfile, spec: EndpointSpec, ctx: LaunchContext, args: list[str]
) -> ContainerPlan | None:
    """The engine's image running `args`: spec.model.image when given (a user's build of the
    engine), else the vendor image tagged spec.server_version or the profile's default."""
    if profile.image is None:
        return None
    vendor = profile.image
    image = spec.model.image or f"{vendor.repository}:{spec.server_version or vendor.default_tag}"
    return ContainerPlan(
        image=image,
        command=list(vendor.entrypoint),
        args=args,
        pull_policy=spec.image_pull_policy or PullPolicy.IF_NOT_PRESENT,
        registry=ctx.registry,
    )


def mounts(spec: EndpointSpec, ctx: LaunchContext) -> list[MountPlan]:
    """The model's files (fetched, and model.path: a LoRA's base GGUF, a Triton repository)
    read-only at the same path, so one argv serves both runtimes; and each spec mount: a host
    source, or without one a scratch disk the runtime provides (a container's own volume)."""
    files = dict.fromkeys(p for p in (ctx.model_path, spec.model.path) if p and p.startswith("/"))
    out = [MountPlan(source=path, target=path, read_only=True) for path in files]
    out += [
        MountPlan(
            source=m.source,
            target=m.path,
            read_only=m.read_only if m.source is not None else False,
            size_gb=m.size_gb,
        )
        for m in spec.mounts
    ]
    return out


def model_reference(spec: EndpointSpec, ctx: LaunchContext, engine: str) -> str:
    """What an engine loads: the files Modelport fetched, else the Hugging Face id or path."""
    ref = ctx.model_path or spec.model.hf_id or spec.model.path
    if not ref:
        raise InvalidSpec(
            f"model.hf_id: {engine} needs a model: a Hugging Face id (model.hf_id) or a "
            "local path (model.path)",
            field="model.hf_id",
        )
    return ref


def model_or_lora(
    profile: EngineProfile, spec: EndpointSpec, ctx: LaunchContext
) -> tuple[str, tuple[str, str] | None]:
    """What the engine loads, and for a peft-model spec the LoRA adapter (served under the
    endpoint's name, its path) over it."""
    if not check_serve_type(profile, spec):
        return model_reference(spec, ctx, profile.engine), None
    base, adapter = lora_parts(profile, spec, ctx)
    return base, (ctx.name, adapter)


def check_serve_type(profile: EngineProfile, spec: EndpointSpec) -> bool:
    """Whether the spec is a peft-model (LoRA); InvalidSpec when the engine has no LoRA."""
    if spec.model.serve_type != PEFT:
        return False
    if profile.lora is None:
        raise InvalidSpec(
            f"model.serve_type: {profile.engine} cannot serve a LoRA adapter (peft-model); "
            "use full-model, or vllm, sglang or llamacpp",
            field="model.serve_type",
        )
    return True


def lora_parts(profile: EngineProfile, spec: EndpointSpec, ctx: LaunchContext) -> tuple[str, str]:
    """(base model, adapter path) of a peft-model spec: the base is model.hf_id, the adapter
    the fetched files or model.path. InvalidSpec when the engine has no LoRA or a part is
    missing."""
    check_serve_type(profile, spec)
    adapter = ctx.model_path or spec.model.path
    if not spec.model.hf_id:
        raise InvalidSpec(
            "model.hf_id: a peft-model names its base model in model.hf_id", field="model.hf_id"
        )
    if not adapter:
        raise InvalidSpec(
            "model.path: a peft-model needs the adapter's files (model.path or model.model_id)",
            field="model.path",
        )
    return spec.model.hf_id, adapter


def resolve_probe(given: ProbeSpec | None, default: ProbeSpec) -> ProbeSpec:
    """The spec's probe, else the engine's; an HTTP probe without a path gets the engine's."""
    if given is None:
        return default
    if given.protocol is ProbeProtocol.HTTP and given.path is None and default.path is not None:
        return given.model_copy(update={"path": default.path})
    return given


def tensor_parallel(spec: EndpointSpec) -> int | None:
    """world_size when it asks for more than one; else every GPU a replica gets (when > 1)."""
    if spec.world_size > 1:
        return spec.world_size
    return spec.resources.gpu_count if spec.resources.gpu_count > 1 else None


def _defaults(
    profile: EngineProfile, spec: EndpointSpec, batch: EngineArgValue | None
) -> dict[str, EngineArgValue]:
    out: dict[str, EngineArgValue] = {}
    tp = tensor_parallel(spec)
    if spec.resources.nodes > 1 and profile.nodes is not None:
        tp = multinode.tensor_parallel(profile.nodes, spec)
    if profile.tp_flag is not None and tp is not None:
        out[profile.tp_flag] = tp
    size = batch if batch is not None else spec.max_concurrency
    if profile.batch is not None and size is not None:
        flag, template = profile.batch
        out[flag] = size if template == "{n}" else template.format(n=size)
    level = log_level(spec.logging)
    if profile.log_level_flag is not None and level is not LogLevel.INFO:
        out[profile.log_level_flag] = level.value
    return out


def _batch_from_engine_args(
    profile: EngineProfile, args: Mapping[str, EngineArgValue]
) -> tuple[dict[str, EngineArgValue], EngineArgValue | None]:
    """engine_args less the seeds' max_batch_size when the engine spells it otherwise; its
    value goes to the engine's own batch flag."""
    out = dict(args)
    if profile.batch is None or flag_name(_BATCH_ARG, profile.case) == profile.batch[0]:
        return out, None
    for key in list(out):
        if key.replace("-", "_") == _BATCH_ARG:
            return out, out.pop(key)
    return out, None


def _lead_flags(
    profile: EngineProfile,
    spec: EndpointSpec,
    args: Mapping[str, EngineArgValue],
    served_names: Sequence[str],
    lora: tuple[str, str] | None,
) -> list[str]:
    lead: list[tuple[str | None, str | None]] = [
        (profile.revision_flag, spec.model.revision),
        (profile.tokenizer_flag, spec.model.tokenizer),
    ]
    out = _flag_pairs(profile, lead)
    name_flag = profile.served_name_flag
    named = {flag_name(key, profile.case) for key in args}
    if name_flag is not None and served_names and name_flag not in named:
        out += [f"--{name_flag}", *served_names]
    flags = profile.lora
    if lora is not None and flags is not None:
        name, adapter = lora
        out += [f"--{flags.switch}"] if flags.switch else []
        out += _flag_pairs(profile, [(flags.flag, f"{name}={adapter}" if flags.named else adapter)])
    return out


def _tail(
    profile: EngineProfile, ctx: LaunchContext, model: str
) -> list[tuple[str | None, str | None]]:
    return [
        (profile.model_flag, model),
        (profile.host_flag, ctx.host),
        (profile.port_flag, str(ctx.port)),
        (profile.key_flag, ctx.replica_key),
    ]


def _flag_pairs(
    profile: EngineProfile, pairs: Sequence[tuple[str | None, str | None]]
) -> list[str]:
    out: list[str] = []
    for flag, value in pairs:
        if flag is None or value is None:
            continue
        out += [f"--{flag}={value}"] if profile.joined else [f"--{flag}", value]
    return out
