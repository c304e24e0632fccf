"""What an engine adapter produces and a runtime executes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain.specs import ProbeSpec


class LaunchPlan(BaseModel):
    """A fully resolved command for one replica. Pure data: engines build it, runtimes run it."""

    model_config = ConfigDict(frozen=True)

    argv: list[str]
    env: dict[str, str] = Field(default_factory=dict)  # added to a minimal base environment
    host: str  # the engine must listen only here (loopback or a private address)
    port: int
    readiness: ProbeSpec  # resolved: the spec's probe or the engine default
    liveness: ProbeSpec
    workdir: str | None = None
    image: str | None = None  # container runtimes: the image to run argv in
    stop_grace_seconds: float = 10.0
