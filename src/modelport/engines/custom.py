"""Any command that serves HTTP on the port it is given ({port} in argv, or $PORT), or any
image (model.image) doing so; spec.command then replaces the image's entrypoint."""

from __future__ import annotations

import shlex

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import ContainerPlan, LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, Framework, PullPolicy
from modelport.engines.common import finish
from modelport.engines.flags import (
    REPLICA_KEY_ENV,
    BoolStyle,
    FlagCase,
    check_reserved_env,
    engine_flags,
)
from modelport.engines.profile import EngineProfile, tcp_probe

PROFILE = EngineProfile(
    framework=Framework.CUSTOM,
    engine="the custom command",
    program=(),
    case=FlagCase.KEBAB,
    bools=BoolStyle.SWITCH,
    reserved=frozenset(),
    reserved_env=frozenset({REPLICA_KEY_ENV}),
    # The command is expected to require `Authorization: Bearer $MODELPORT_REPLICA_KEY`
    # (docs/security.md); Modelport cannot check that it does.
    key_env=REPLICA_KEY_ENV,
    model_flag=None,
    host_flag="host",
    port_flag="port",
    # An arbitrary server has no known health route: listening on its port is the signal.
    readiness=tcp_probe(period=1.0),
    liveness=tcp_probe(period=5.0, failure_threshold=3),
)
READINESS, LIVENESS = PROFILE.readiness, PROFILE.liveness


class CustomAdapter:
    framework = Framework.CUSTOM

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        check_reserved_env(spec, PROFILE.reserved_env)
        command = [_fill(part, ctx) for part in _split(spec.command)]
        if not command and not spec.model.image:
            raise InvalidSpec(
                "command: a custom endpoint needs a command (or model.image)", field="command"
            )
        args = engine_flags(
            spec.engine_args, case=PROFILE.case, bools=PROFILE.bools, engine=PROFILE.engine
        )
        args += [_fill(part, ctx) for part in spec.extra_args]
        env = {**ctx.env, "HOST": ctx.host, "PORT": str(ctx.port)}
        plan = finish(PROFILE, spec, ctx, argv=[*command, *args], env=env)
        if spec.model.image is None:
            return plan
        image = ContainerPlan(
            image=spec.model.image,
            command=command or None,  # None keeps the image's ENTRYPOINT
            args=args,
            pull_policy=spec.image_pull_policy or PullPolicy.IF_NOT_PRESENT,
            registry=ctx.registry,
        )
        return plan.model_copy(update={"container": image})

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


def _fill(part: str, ctx: LaunchContext) -> str:
    # str.replace, not str.format: other braces (JSON arguments) stay as they are.
    return part.replace("{port}", str(ctx.port)).replace("{host}", ctx.host)
