"""What one engine is, as data: its program, flag spelling, reserved names, key, probes, routes,
served-name rule and vendor image. engines/common.py's plan() turns a profile and a spec into
a LaunchPlan; an adapter adds code only for what is truly its own."""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from enum import Enum

from modelport.domain.specs import Framework, ProbeProtocol, ProbeSpec
from modelport.engines.flags import BoolStyle, FlagCase
from modelport.engines.multinode import NodeFlags


class NeedKind(Enum):
    """How the host shows it has what an engine needs."""

    MODULE = "module"  # a Python module importable by the server's interpreter
    EXECUTABLE = "executable"  # a program on PATH


@dataclass(frozen=True)
class Need:
    """One thing the host must have to run the engine as a local process."""

    kind: NeedKind
    name: str  # the module or executable
    what: str  # how a message names it, e.g. "vLLM (Dynamo's worker)"

    def missing(self, install: str) -> str | None:
        if self.kind is NeedKind.MODULE:
            if importlib.util.find_spec(self.name) is not None:
                return None
            found = f"Python module {self.name!r} not found"
        else:
            if shutil.which(self.name) is not None:
                return None
            found = f"{self.name!r} is not on PATH"
        return f"{self.what} is not installed on this host: {found} ({install})"


@dataclass(frozen=True, kw_only=True)
class Image:
    """An engine's vendor image: `repository:tag`, the tag being spec.server_version if given."""

    repository: str
    default_tag: str
    # Replaces the image's ENTRYPOINT with the engine's own program, so the same arguments
    # serve both runtimes whatever the image's entrypoint script does.
    entrypoint: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class LoraFlags:
    """How an engine loads a LoRA adapter (model.serve_type peft-model) over its base model."""

    switch: str | None  # a flag that turns LoRA on first (vLLM --enable-lora)
    flag: str  # the flag naming the adapter
    named: bool  # the value is `{served name}={adapter}`, else the adapter's path alone


@dataclass(frozen=True, kw_only=True)
class EngineProfile:
    """One engine as data. Flag names are spelled without dashes, in the engine's case."""

    framework: Framework
    engine: str  # how messages name it
    program: tuple[str, ...]  # the local argv before the arguments
    case: FlagCase
    bools: BoolStyle
    joined: bool = False  # --flag=value (Triton), else --flag value
    reserved: frozenset[str]  # flags Modelport sets itself
    known: frozenset[str] | None = None  # every flag the engine takes, where we list them
    reserved_env: frozenset[str] = frozenset()  # env the engine reads instead of our settings
    key_env: str | None = None  # the engine reads the replica key from this variable...
    key_flag: str | None = None  # ...or only from this flag (then it shows in argv)
    model_flag: str | None  # the flag naming the model; None: a positional after program
    host_flag: str
    port_flag: str
    revision_flag: str | None = None
    tokenizer_flag: str | None = None
    served_name_flag: str | None = None  # the name it answers to (the endpoint's)
    tp_flag: str | None = None  # tensor parallel degree (world_size, or GPUs)
    # max batch (engine_args.max_batch_size or spec.max_concurrency): the flag and its value,
    # "{n}" standing for the number (Triton's is a backend setting).
    batch: tuple[str, str] | None = None
    log_level_flag: str | None = None  # takes a LogLevel value (spec.logging)
    lora: LoraFlags | None = None  # None: no LoRA (a peft-model spec is refused)
    nodes: NodeFlags | None = None  # None: one node only (resources.nodes > 1 is refused)
    readiness: ProbeSpec
    liveness: ProbeSpec
    metrics_path: str | None = None  # Prometheus metrics on the serving port
    image: Image | None = None
    needs: tuple[Need, ...] = ()
    install: str = ""

    def available(self) -> str | None:
        """None if this engine can run here as a local process, else what is missing."""
        for need in self.needs:
            missing = need.missing(self.install)
            if missing is not None:
                return missing
        return None


def http_probe(
    path: str, *, period: float, timeout: float = 2.0, failure_threshold: int = 3
) -> ProbeSpec:
    return ProbeSpec(
        protocol=ProbeProtocol.HTTP,
        path=path,
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failure_threshold,
    )


def tcp_probe(*, period: float, timeout: float = 2.0, failure_threshold: int = 3) -> ProbeSpec:
    return ProbeSpec(
        protocol=ProbeProtocol.TCP,
        period_seconds=period,
        timeout_seconds=timeout,
        failure_threshold=failure_threshold,
    )


def health_probes(path: str) -> tuple[ProbeSpec, ProbeSpec]:
    """The usual pair: readiness every 2 s; liveness every 10 s, with time for a busy GPU."""
    return http_probe(path, period=2.0), http_probe(path, period=10.0, timeout=5.0)
