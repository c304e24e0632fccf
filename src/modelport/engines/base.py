"""The engine seam: an adapter turns an EndpointSpec into a LaunchPlan. Pure: no processes."""

from __future__ import annotations

from typing import Protocol

from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.specs import EndpointSpec, Framework


class EngineAdapter(Protocol):
    framework: Framework

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        """The command that serves `spec` on ctx.host:ctx.port with ctx.env (decrypted).

        `ctx.replica_key`, when given, is a secret the engine must require of every request
        (only the gateway and the probes know it); the plan carries it in `replica_key` when
        the engine can enforce one, else leaves that None.

        Raises InvalidSpec (naming the field) for a spec this engine cannot serve.
        """
        ...

    def available(self) -> str | None:
        """None if this engine can run on this host, else a sentence saying what is missing."""
        ...
