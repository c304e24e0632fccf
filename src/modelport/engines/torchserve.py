"""PyTorch TorchServe over a model store (a directory of .mar archives, or one .mar file)."""

from __future__ import annotations

import shlex
from pathlib import PurePath

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import (
    FlagCase,
    checked_extra_args,
    checked_flag,
    http_probe,
    missing_executable,
    resolve_probe,
)

ENGINE = "TorchServe"
RESERVED_PROPERTIES = frozenset(
    {"inference_address", "management_address", "metrics_address", "model_store"}
)
# Flags of the torchserve command Modelport sets (the config file holds the addresses).
# TorchServe's own token authorization makes its keys itself (a key file), so Modelport cannot
# hand it the replica key: not enforced, replica_key stays None.
RESERVED_FLAGS = frozenset({"model-store", "ts-config", "start", "foreground"})
READINESS = http_probe("/ping", period=2.0)
LIVENESS = http_probe("/ping", period=10.0, timeout=5.0, failure_threshold=3)

# TorchServe takes its addresses only from a config.properties file. The launch writes one into
# a fresh temporary directory, with the management and metrics APIs on Unix sockets there (a
# replica has one TCP port; their default ports, 8081 and 8082, would clash between replicas).
_LAUNCH = (
    'dir=$(mktemp -d) && printf "%s\\n" "$@" '
    '"management_address=unix:$dir/management.sock" '
    '"metrics_address=unix:$dir/metrics.sock" > "$dir/config.properties" && '
    'exec {torchserve} --ts-config "$dir/config.properties"'
)


class TorchServeAdapter:
    framework = Framework.TORCHSERVE

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        store, models = _model_store(spec, ctx.name)
        properties = [
            f"inference_address=http://{ctx.host}:{ctx.port}",
            "disable_token_authorization=true",  # the gateway authenticates callers
            *(_property(key, value) for key, value in spec.engine_args.items()),
        ]
        torchserve = [
            "torchserve",
            "--start",
            "--foreground",
            "--ncs",  # no config snapshots: a restart starts from this plan, not the last run
            "--models",
            models,
            *checked_extra_args(spec.extra_args, RESERVED_FLAGS),
            "--model-store",  # last: argparse keeps the last value
            store,
        ]
        script = _LAUNCH.format(torchserve=shlex.join(torchserve))
        return LaunchPlan(
            argv=["sh", "-c", script, "torchserve-launch", *properties],
            env=dict(ctx.env),
            host=ctx.host,
            port=ctx.port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
            image=spec.model.image,
        )

    def available(self) -> str | None:
        install = "pip install torchserve torch-model-archiver; needs Java 11+"
        return missing_executable("torchserve", ENGINE, install) or missing_executable(
            "java", "Java (for TorchServe)", install
        )


def _model_store(spec: EndpointSpec, name: str) -> tuple[str, str]:
    path = spec.model.path
    if not path:
        raise InvalidSpec(
            "model.path: TorchServe serves a model store directory or a .mar file; set model.path",
            field="model.path",
        )
    if path.endswith(".mar"):
        archive = PurePath(path)
        return str(archive.parent), f"{name}={archive.name}"
    return path, "all"


def _property(key: str, value: EngineArgValue) -> str:
    name = checked_flag(key, FlagCase.SNAKE, reserved=RESERVED_PROPERTIES, engine=ENGINE)
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if "\n" in text or "\r" in text:
        field = f"engine_args.{key}"
        raise InvalidSpec(f"{field}: a config.properties value is one line", field=field)
    return f"{name}={text}"
