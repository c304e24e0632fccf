"""What an engine adapter produces and a runtime executes."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from modelport.domain.specs import ProbeSpec, PullPolicy, Resources


class RegistryLogin(BaseModel):
    """Credentials for pulling a private image (from an integration; decrypted, never shown)."""

    model_config = ConfigDict(frozen=True)

    server: str  # the registry host[:port], e.g. "127.0.0.1:5000" or "registry.example.com"
    username: str
    password: str = Field(repr=False)


class ContainerPlan(BaseModel):
    """How a container runtime runs the same engine: the image, its entrypoint and arguments.

    The engine listens on LaunchPlan.host:port inside the container; the runtime publishes that
    port on the host's loopback only.
    """

    model_config = ConfigDict(frozen=True)

    image: str
    command: list[str] | None = None  # replaces the image's ENTRYPOINT; None keeps it
    args: list[str] = Field(default_factory=list)  # the container's CMD (the engine's flags)
    pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    registry: RegistryLogin | None = Field(default=None, repr=False)  # private images


class MountPlan(BaseModel):
    """A path made visible to the replica: a host path (model files, shared storage) or, with
    no source, a scratch disk of its own (TIR's disk at disk_path / mount_path)."""

    model_config = ConfigDict(frozen=True)

    source: str | None  # absolute path on the replica's host; None: a scratch disk
    target: str  # where the engine sees it (the same path for local processes)
    read_only: bool = True
    size_gb: int | None = None  # a scratch disk's requested size


class Slot(BaseModel):
    """Where a replica will run, chosen before its plan is made (the plan names the address):
    this host's loopback for local processes and containers, a node's private address on Ray."""

    model_config = ConfigDict(frozen=True)

    host: str  # the address the engine must listen on
    port: int
    node: str | None = None  # the node's name where there are several (Ray); None: this host


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
    # Set when the engine can run as a container (its vendor image, or the spec's image); a
    # container runtime runs this, a process runtime runs argv.
    container: ContainerPlan | None = None
    mounts: list[MountPlan] = Field(default_factory=list)
    resources: Resources = Field(default_factory=Resources)  # limits a runtime may enforce
    stop_grace_seconds: float = 10.0
    # A replica across nodes (resources.nodes > 1): the engine command of each further node
    # (node rank 1, 2, ...), run there with the same env; argv is the first node's, which
    # serves. Empty: one node. Only a runtime that spans nodes (Ray) runs such a plan.
    node_argv: list[list[str]] = Field(default_factory=list)
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
    # The model's files on the replica's host, fetched before launch (model repository,
    # Hugging Face, object store); adapters load this rather than spec.model.path / hf_id.
    model_path: str | None = None
    # A registry login for the spec's private image (from its registry integration).
    registry: RegistryLogin | None = field(default=None, repr=False)
