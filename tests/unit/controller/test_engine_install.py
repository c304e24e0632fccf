"""An engine installed in the background (`make run`): its replicas wait PENDING
EngineInstalling with the install's progress, launch once it is done (no restart), and a failed
install is shown as such (log path, last lines), never as an eternal "installing"."""

from __future__ import annotations

from datetime import timedelta

from modelport.controller.loop import Controller
from modelport.domain.decisions import ReplicaReason
from modelport.domain.specs import Framework
from modelport.domain.states import ReplicaState
from modelport.engines.install_status import EngineInstall, InstallState, InstallStep
from tests.unit.controller.conftest import World


class Installs:
    """The installer's status as the controller reads it; the test moves it on."""

    def __init__(self, install: EngineInstall | None) -> None:
        self.install = install

    def __call__(self, framework: Framework) -> EngineInstall | None:
        return self.install if framework is Framework.CUSTOM else None

    def update(self, **changes: object) -> None:
        assert self.install is not None
        self.install = self.install.model_copy(update=changes)


def building(world: World) -> EngineInstall:
    return EngineInstall(
        framework=Framework.CUSTOM,
        engine="llama.cpp",
        state=InstallState.RUNNING,
        step=InstallStep.BUILDING,
        percent=21,
        progress="[42/193] ggml-cpu.c",
        started_at=world.clock.now() - timedelta(minutes=3),
        pid=4321,
        log_path="/venv/modelport-engines/llamacpp.log",
        estimate_seconds=372.0,
        estimate_recorded=True,
    )


def controller(world: World, installs: Installs) -> Controller:
    return Controller(
        world.store,
        world.runtime,
        world.box,
        world.clock,
        world.settings,
        holder_id="test",
        adapters=world.adapter,
        engine_installs=installs,
    )


def reasons_of(world: World, endpoint_id: int, reason: str) -> list[str]:
    return [e.message for e in world.store.list_events(endpoint_id) if e.reason == reason]


async def test_replicas_wait_while_the_engine_builds_then_launch_without_a_restart(
    world: World,
) -> None:
    world.engines[Framework.CUSTOM].missing = "llama.cpp server is not installed on this host"
    installs = Installs(building(world))
    ep = world.create(replicas=1)
    ctl = controller(world, installs)
    await world.ticks(ctl, 3)

    [replica] = world.replicas(ep)
    assert replica.state is ReplicaState.PENDING and replica.restart_count == 0
    assert replica.reason is ReplicaReason.ENGINE_INSTALLING
    assert replica.detail == (
        "engine installing (llama.cpp build 21%, 3 min elapsed, about 6 min on this machine)"
    )
    assert world.runtime.running() == []

    installs.update(percent=80, progress="[155/193] llama.cpp")
    world.clock.advance(60)
    await world.ticks(ctl, 2)
    [replica] = world.replicas(ep)
    assert replica.detail.startswith("engine installing (llama.cpp build 80%, 4 min elapsed")
    # One event when it began to wait; the detail alone follows the progress.
    assert len(reasons_of(world, ep.id, "EngineInstalling")) == 1
    assert reasons_of(world, ep.id, "EngineUnavailable") == []

    installs.update(state=InstallState.DONE, step=InstallStep.FINISHED)
    world.engines[Framework.CUSTOM].missing = None
    await world.ticks(ctl, 4)
    [replica] = world.replicas(ep)
    assert replica.state is ReplicaState.READY and replica.restart_count == 0


async def test_a_failed_install_fails_the_launch_with_its_log(world: World) -> None:
    world.engines[Framework.CUSTOM].missing = "llama.cpp server is not installed on this host"
    installs = Installs(building(world))
    installs.update(
        state=InstallState.FAILED,
        exit_code=1,
        tail=("ninja: build stopped: subcommand failed.", "ERROR: Failed building wheel"),
    )
    ep = world.create(replicas=1)
    await world.ticks(controller(world, installs), 2)

    [replica] = world.replicas(ep)
    assert replica.state is ReplicaState.FAILED
    assert replica.reason is ReplicaReason.ENGINE_UNAVAILABLE
    assert "engine install failed (llama.cpp build 21%, exit code 1)" in replica.detail
    assert "log: /venv/modelport-engines/llamacpp.log" in replica.detail
    assert "ERROR: Failed building wheel" in replica.detail
    assert reasons_of(world, ep.id, "EngineInstalling") == []


async def test_a_finished_install_leaves_the_decision_to_the_engine_check(world: World) -> None:
    installs = Installs(building(world))
    installs.update(state=InstallState.DONE, step=InstallStep.FINISHED)
    world.engines[Framework.CUSTOM].missing = "removed since"
    ep = world.create(replicas=1)
    await world.ticks(controller(world, installs), 2)

    [replica] = world.replicas(ep)
    assert replica.reason is ReplicaReason.ENGINE_UNAVAILABLE
    assert "removed since" in replica.detail and "install failed" not in replica.detail
