"""What an engine adapter produces and a runtime executes."""

from __future__ import annotations

from dataclasses import dataclass, field

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


@dataclass(frozen=True, kw_only=True)
class LaunchContext:
    """Where and as what one replica launches: all an engine adapter needs besides the spec."""

    host: str  # the engine must listen only here
    port: int
    name: str  # the endpoint's name; engines that name their model answer to it
    # Decrypted user variables, so never in a repr.
    env: dict[str, str] = field(repr=False)
    # When given, a secret the engine must require of every request (only the gateway and the
    # probes know it); an adapter that can enforce it puts it in LaunchPlan.replica_key.
    replica_key: str | None = field(default=None, repr=False)
