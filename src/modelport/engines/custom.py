"""Any command that serves HTTP on the port it is given ({port} in argv, or $PORT)."""

from __future__ import annotations

import shlex

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, Framework
from modelport.engines.common import (
    REPLICA_KEY_ENV,
    BoolStyle,
    FlagCase,
    check_reserved_env,
    engine_flags,
    key_env,
    resolve_probe,
    tcp_probe,
)

# An arbitrary server has no known health route: listening on its port is the signal.
READINESS = tcp_probe(period=1.0)
LIVENESS = tcp_probe(period=5.0, failure_threshold=3)


class CustomAdapter:
    framework = Framework.CUSTOM

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        check_reserved_env(spec, {REPLICA_KEY_ENV})
        command = _split(spec.command)
        if not command and not spec.model.image:
            raise InvalidSpec(
                "command: a custom endpoint needs a command (or model.image)", field="command"
            )
        argv = [_fill(part, ctx.host, ctx.port) for part in command]
        argv += engine_flags(
            spec.engine_args,
            case=FlagCase.KEBAB,
            bools=BoolStyle.SWITCH,
            engine="the custom command",
        )
        argv += [_fill(part, ctx.host, ctx.port) for part in spec.extra_args]
        return LaunchPlan(
            argv=argv,
            # The command is expected to require `Authorization: Bearer $MODELPORT_REPLICA_KEY`
            # (docs/security.md); Modelport cannot check that it does.
            env={
                **ctx.env,
                "HOST": ctx.host,
                "PORT": str(ctx.port),
                **key_env(REPLICA_KEY_ENV, ctx.replica_key),
            },
            replica_key=ctx.replica_key,
            host=ctx.host,
            port=ctx.port,
            readiness=resolve_probe(spec.readiness, READINESS),
            liveness=resolve_probe(spec.liveness, LIVENESS),
            image=spec.model.image,
        )

    def available(self) -> str | None:
        return None  # whether the command exists shows when it starts


def _split(command: list[str]) -> list[str]:
    """A command given as one string ("python -m http.server {port}") becomes an argv."""
    if len(command) == 1 and any(c.isspace() for c in command[0]):
        try:
            return shlex.split(command[0])
        except ValueError as exc:
            raise InvalidSpec(
                f"command: cannot split {command[0]!r}: {exc}", field="command"
            ) from exc
    return list(command)


def _fill(part: str, host: str, port: int) -> str:
    # str.replace, not str.format: other braces (JSON arguments) stay as they are.
    return part.replace("{port}", str(port)).replace("{host}", host)
