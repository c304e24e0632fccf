"""What an engine adapter produces and a runtime executes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain.specs import ProbeSpec


class LaunchPlan(BaseModel):
    """A fully resolved command for one replica. Pure data: engines build it, runtimes run it."""

    model_config = ConfigDict(frozen=True)

    argv: list[str]
    # Added to a minimal base environment; holds decrypted secrets, so never in a repr.
    env: dict[str, str] = Field(default_factory=dict, repr=False)
    host: str  # the engine must listen only here (loopback or a private address)
    port: int
    readiness: ProbeSpec  # resolved: the spec's probe or the engine default
    liveness: ProbeSpec
    workdir: str | None = None
    image: str | None = None  # container runtimes: the image to run argv in
    stop_grace_seconds: float = 10.0
    # The per-replica key the engine now requires of every request (the gateway and the probes
    # send it); None when this engine has no way to require one.
    replica_key: str | None = Field(default=None, repr=False)
