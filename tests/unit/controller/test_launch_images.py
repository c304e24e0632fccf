"""What the controller hands a container launch: the registry login of the spec's private image
(looked up at each launch, so a rotated integration reaches the next replica), a failed pull as
the replica's own reason (ImagePullFailed, with backoff, not a crash loop), and a runtime the
server does not run as a clear launch failure."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelport.controller.loop import Controller
from modelport.domain.decisions import ReplicaReason
from modelport.domain.errors import ImagePullFailed, ReplicaPreparing
from modelport.domain.launch import ContainerPlan, LaunchContext, LaunchPlan, RegistryLogin
from modelport.domain.records import Endpoint
from modelport.domain.specs import EndpointSpec, Framework, RuntimeKind
from modelport.domain.states import ReplicaState
from modelport.runtime.router import RuntimeRouter
from tests.unit.controller.conftest import ALIVE_PROBE, READY_PROBE, World
from tests.unit.controller.test_loop import until


@dataclass
class ImageEngine:
    """Plans the spec's image as a container and records the registry login it was given."""

    framework: Framework = Framework.CUSTOM
    logins: list[RegistryLogin | None] = field(default_factory=list)

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        self.logins.append(ctx.registry)
        assert spec.model.image is not None
        return LaunchPlan(
            argv=[],
            host=ctx.host,
            port=ctx.port,
            readiness=READY_PROBE,
            liveness=ALIVE_PROBE,
            container=ContainerPlan(image=spec.model.image, registry=ctx.registry),
        )

    def available(self) -> str | None:
        return None


class Logins:
    """The integrations' lookup as the server wires it: (project, ref, field) -> login."""

    def __init__(self) -> None:
        self.password = "first"
        self.calls: list[tuple[int, str, str]] = []

    def __call__(self, project_id: int, ref: str, field: str) -> RegistryLogin:
        self.calls.append((project_id, ref, field))
        return RegistryLogin(server="127.0.0.1:5000", username="ci", password=self.password)


def controller(world: World, engine: ImageEngine, logins: Logins | None = None) -> Controller:
    return Controller(
        world.store, world.runtime, world.box, world.clock, world.settings,
        adapters=lambda _framework: engine, registry_login=logins,
    )  # fmt: skip


def private(world: World, replicas: int = 1) -> Endpoint:
    return world.create(
        replicas=replicas,
        command=[],
        model={"image": "127.0.0.1:5000/team/chat:1", "registry_integration": "team-registry"},
    )


def failed(world: World, ep: Endpoint) -> bool:
    return [r.state for r in world.replicas(ep)] == [ReplicaState.FAILED]


async def test_a_private_image_launches_with_the_login_looked_up_at_each_launch(world: World):
    engine, logins = ImageEngine(), Logins()
    ep = private(world)
    ctl = controller(world, engine, logins)
    await until(world, ctl, lambda: len(world.runtime.running()) == 1)
    (process,) = world.runtime.running()
    assert process.plan.container is not None
    assert process.plan.container.registry == logins(ep.project_id, "x", "y")
    assert logins.calls[0] == (ep.project_id, "team-registry", "spec.model.registry_integration")

    # Rotated: the next replica pulls with the new password, the endpoint untouched.
    logins.password = "rotated"
    world.runtime.crash(process.handle)
    await until(world, ctl, lambda: len(world.runtime.running()) == 1)
    assert engine.logins[-1] is not None and engine.logins[-1].password == "rotated"


async def test_a_failed_pull_is_the_replicas_reason_and_waits_its_backoff(world: World):
    engine = ImageEngine()
    world.runtime.start_error = ImagePullFailed(
        "image 127.0.0.1:5000/team/chat:1: pull refused by the registry (unauthorized)"
    )
    ep = private(world)
    ctl = controller(world, engine, Logins())
    await until(world, ctl, lambda: failed(world, ep))
    (replica,) = world.replicas(ep)
    assert replica.reason is ReplicaReason.IMAGE_PULL_FAILED
    assert "unauthorized" in replica.detail
    assert "ImagePullFailed" in world.reasons(ep)

    # Ten seconds of ticks: the backoff (1 s doubling to 8 s) allows a handful of tries, not
    # one per tick.
    before = len(world.runtime.start_calls)
    await world.ticks(ctl, 10)
    assert 1 <= len(world.runtime.start_calls) - before <= 4


async def test_a_pull_in_flight_keeps_the_replica_pending_with_progress_and_one_event(
    world: World,
):
    engine = ImageEngine()
    ep = private(world)
    ctl = controller(world, engine, Logins())
    started = "pulling 127.0.0.1:5000/team/chat:1: asking the registry"
    world.runtime.start_error = ReplicaPreparing(started, began=True)
    await until(world, ctl, lambda: len(world.runtime.start_calls) == 1)

    # The runtime pulls on in the background: each retry hears the pull's progress.
    world.runtime.start_error = ReplicaPreparing(
        "pulling 127.0.0.1:5000/team/chat:1: 45% (1.2 of 2.7 GB, 3 of 7 layers)", began=False
    )
    await world.ticks(ctl, 10)
    assert len(world.runtime.start_calls) >= 5  # asked again every second or so, not held
    (replica,) = world.replicas(ep)
    assert replica.state is ReplicaState.PENDING
    assert replica.reason is ReplicaReason.LAUNCH_DEFERRED
    assert "45% (1.2 of 2.7 GB" in replica.detail
    deferred = [
        e for e in world.store.list_events(ep.id, limit=100) if e.reason == "LaunchDeferred"
    ]
    assert len(deferred) == 1 and started in deferred[0].message  # the pull began: said once

    world.runtime.start_error = None  # pulled: the next retry creates the container
    await until(world, ctl, lambda: len(world.runtime.running()) == 1)
    assert world.reasons(ep).count("LaunchDeferred") == 1


async def test_a_runtime_this_server_does_not_run_fails_the_launch_saying_so(world: World):
    engine = ImageEngine()
    router = RuntimeRouter({RuntimeKind.LOCAL: world.runtime}, RuntimeKind.LOCAL)
    ep = world.create(replicas=1, command=[], model={"image": "chat:1"}, runtime="docker")
    ctl = Controller(
        world.store, router, world.box, world.clock, world.settings,
        adapters=lambda _framework: engine,
    )  # fmt: skip
    await until(world, ctl, lambda: failed(world, ep))
    (replica,) = world.replicas(ep)
    assert replica.reason is ReplicaReason.LAUNCH_FAILED
    assert "'docker' is not enabled on this server" in replica.detail
    assert world.runtime.start_calls == []
