"""What `docker create` gets for one replica: pure, so the whole container config is unit-tested
without a daemon (GPU device requests included, which need the NVIDIA runtime to start)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

from docker import DockerClient
from docker.models.containers import Container
from docker.types import DeviceRequest, Mount

from modelport.domain.errors import PermanentError
from modelport.domain.launch import ContainerPlan, LaunchPlan, MountPlan

LABEL_REPLICA = "modelport.replica"  # the replica key the controller launched it under
LABEL_INSTALL = "modelport.install"  # which server home owns it (several may share a daemon)
LABEL_ENDPOINT = "modelport.endpoint"  # the endpoint's name, when the key carries it
LABEL_REPLICA_ID = "modelport.replica-id"
LOOPBACK = "127.0.0.1"  # the only host address a replica's port is published on

# controller/apply.py names replicas "<endpoint>-r<replica id>-g<generation>".
_KEY = re.compile(r"^(?P<endpoint>.+)-r(?P<replica_id>\d+)-g\d+$")
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def container_plan(plan: LaunchPlan) -> ContainerPlan:
    """The plan's container side, or why this engine cannot run on Docker."""
    if plan.container is None:
        raise PermanentError(
            "runtime docker: this engine has no container image; set model.image (custom "
            "framework) or run it with runtime: local"
        )
    return plan.container


def labels(replica_key: str, install_id: str) -> dict[str, str]:
    found = _KEY.match(replica_key)
    extra = {} if found is None else {
        LABEL_ENDPOINT: found["endpoint"], LABEL_REPLICA_ID: found["replica_id"]
    }  # fmt: skip
    return {LABEL_REPLICA: replica_key, LABEL_INSTALL: install_id, **extra}


@dataclass(frozen=True)
class CreateConfig:
    """What `containers.create` gets, as a record the tests can read."""

    name: str
    image: str
    entrypoint: list[str] | None
    command: list[str]
    environment: dict[str, str] = field(repr=False)  # decrypted secrets
    ports: dict[str, tuple[str, int]]
    mounts: list[Mount]
    device_requests: list[DeviceRequest]
    mem_limit: str | None
    nano_cpus: int | None
    labels: dict[str, str]
    working_dir: str | None

    def create(self, client: DockerClient) -> Container:
        """`docker create` with this config (blocking)."""
        return client.containers.create(
            self.image,
            self.command,
            name=self.name,
            entrypoint=self.entrypoint,
            environment=self.environment,
            ports=dict(self.ports),
            mounts=self.mounts,
            device_requests=self.device_requests or None,
            mem_limit=self.mem_limit,
            nano_cpus=self.nano_cpus,
            labels=self.labels,
            working_dir=self.working_dir,
            # No restart_policy: Docker's default "no". The controller replaces a dead
            # replica; Docker restarting it would hide the crash.
            detach=True,
        )


def create_config(replica_key: str, plan: LaunchPlan, install_id: str) -> CreateConfig:
    container = container_plan(plan)
    resources = plan.resources
    gpus = resources.gpu_count
    return CreateConfig(
        # Readable in `docker ps`; the suffix keeps a relaunch of the same key from clashing
        # with a dead container not yet removed.
        name=f"modelport-{_NAME_UNSAFE.sub('_', replica_key)}-{secrets.token_hex(3)}",
        image=container.image,
        entrypoint=container.command,
        command=list(container.args),
        environment={**plan.env, "HOST": plan.host, "PORT": str(plan.port)},
        # The engine listens on the same port inside; only the host's loopback reaches it.
        ports={f"{plan.port}/tcp": (LOOPBACK, plan.port)},
        mounts=[_mount(m) for m in plan.mounts],
        device_requests=[DeviceRequest(count=gpus, capabilities=[["gpu"]])] if gpus else [],
        mem_limit=f"{resources.memory_mb}m",
        nano_cpus=round(resources.cpu * 1e9),
        labels=labels(replica_key, install_id),
        working_dir=plan.workdir,
    )


def _mount(plan: MountPlan) -> Mount:
    """A host path as a bind mount; a scratch disk as an anonymous volume of this container
    (removed with it: docker rm -v). Docker cannot cap a local volume's size: size_gb is not
    enforced (docs/runtimes.md)."""
    if plan.source is None:
        return Mount(target=plan.target, source=None, type="volume")
    return Mount(target=plan.target, source=plan.source, type="bind", read_only=plan.read_only)
