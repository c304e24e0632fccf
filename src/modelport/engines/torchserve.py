"""PyTorch TorchServe over a model store (a directory of .mar archives, or one .mar file).

Flags: pytorch/serve `ts/arg_parser.py` (--start, --foreground, --ncs, --models, --model-store,
--ts-config); addresses only in config.properties (`docs/configuration.md`:
inference_address, management_address, metrics_address, disable_token_authorization). Health
`/ping` on the inference address (`docs/inference_api.md`). Metrics are on the metrics address
(a Unix socket here). No LoRA.
"""

from __future__ import annotations

import shlex
from pathlib import PurePath

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, EngineArgValue, Framework
from modelport.engines.common import check_serve_type, finish
from modelport.engines.flags import BoolStyle, FlagCase, checked_extra_args, checked_flag
from modelport.engines.profile import EngineProfile, Image, Need, NeedKind, http_probe

RESERVED_PROPERTIES = frozenset(
    {
        "inference_address",
        "management_address",
        "metrics_address",
        "model_store",
        "grpc_inference_port",
        "grpc_management_port",
    }
)
INSTALL = "pip install torchserve torch-model-archiver; needs Java 11+"

PROFILE = EngineProfile(
    framework=Framework.TORCHSERVE,
    engine="TorchServe",
    program=("sh",),  # a launch script writes config.properties, then execs torchserve
    case=FlagCase.SNAKE,
    bools=BoolStyle.VALUE,
    # Flags of the torchserve command Modelport sets (the config file holds the addresses).
    # TorchServe's own token authorization makes its keys itself (a key file), so Modelport
    # cannot hand it the replica key: not enforced, replica_key stays None.
    reserved=frozenset({"model-store", "ts-config", "start", "foreground"}),
    model_flag="model-store",
    host_flag="inference_address",
    port_flag="inference_address",
    readiness=http_probe("/ping", period=2.0),
    liveness=http_probe("/ping", period=10.0, timeout=5.0, failure_threshold=3),
    image=Image(repository="pytorch/torchserve", default_tag="latest-cpu", entrypoint=("sh",)),
    needs=(
        Need(NeedKind.EXECUTABLE, "torchserve", "TorchServe"),
        Need(NeedKind.EXECUTABLE, "java", "Java (for TorchServe)"),
    ),
    install=INSTALL,
)
READINESS, LIVENESS = PROFILE.readiness, PROFILE.liveness

# TorchServe takes its addresses only from a config.properties file. The launch writes one into
# a fresh temporary directory, with the management and metrics APIs on Unix sockets there (a
# replica has one TCP port; their default ports, 8081 and 8082, would clash between replicas).
# TorchServe 0.12 always starts its gRPC APIs, on TCP only (7070 and 7071 by default, which a
# second replica fails to bind, and then exits): port 0 lets the kernel pick free ones.
# TEMP (Java's java.io.tmpdir, set by ts/model_server.py) and TMPDIR point there too: the
# frontend unpacks archives into <tmpdir>/models and its workers listen on <tmpdir>/.ts.sock.9000,
# and the CLI keeps <tmpdir>/.model_server.pid; in the shared /tmp a second replica (another uid)
# fails to load its model ("Cannot create directory '/tmp/models/...'") or refuses to start.
_LAUNCH = (
    'dir=$(mktemp -d) && printf "%s\\n" "$@" '
    '"management_address=unix:$dir/management.sock" '
    '"metrics_address=unix:$dir/metrics.sock" '
    '"grpc_inference_port=0" "grpc_management_port=0" > "$dir/config.properties" && '
    'export TEMP="$dir" TMPDIR="$dir" && '
    'exec {torchserve} --ts-config "$dir/config.properties"'
)


class TorchServeAdapter:
    framework = Framework.TORCHSERVE

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        check_serve_type(PROFILE, spec)
        store, models = _model_store(spec, ctx)
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
            *checked_extra_args(spec.extra_args, PROFILE.reserved),
            "--model-store",  # last: argparse keeps the last value
            store,
        ]
        script = _LAUNCH.format(torchserve=shlex.join(torchserve))
        argv = ["sh", "-c", script, "torchserve-launch", *properties]
        return finish(PROFILE, spec, ctx, argv=argv, env=dict(ctx.env))

    def available(self) -> str | None:
        return PROFILE.available()


def _model_store(spec: EndpointSpec, ctx: LaunchContext) -> tuple[str, str]:
    path = ctx.model_path or spec.model.path
    if not path:
        raise InvalidSpec(
            "model.path: TorchServe serves a model store directory or a .mar file; set model.path",
            field="model.path",
        )
    if path.endswith(".mar"):
        archive = PurePath(path)
        return str(archive.parent), f"{ctx.name}={archive.name}"
    return path, "all"


def _property(key: str, value: EngineArgValue) -> str:
    name = checked_flag(key, FlagCase.SNAKE, reserved=RESERVED_PROPERTIES, engine=PROFILE.engine)
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if "\n" in text or "\r" in text:
        field = f"engine_args.{key}"
        raise InvalidSpec(f"{field}: a config.properties value is one line", field=field)
    return f"{name}={text}"
