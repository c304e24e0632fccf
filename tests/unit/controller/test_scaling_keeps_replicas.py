"""Changing how many replicas run (or autoscale/async settings) keeps the running ones;
changing what a replica runs rolls them. Service + controller on a real SQLite store."""

from __future__ import annotations

from modelport.domain.records import Role
from modelport.domain.states import ReplicaState
from modelport.services.auth import Principal
from modelport.services.endpoints import EndpointService
from tests.unit.controller.conftest import World
from tests.unit.controller.test_loop import all_ready, until


def _service(world: World) -> tuple[EndpointService, Principal]:
    service = EndpointService(
        world.store, world.box, world.clock, "http://gw", check_spec=lambda _n, _s: None
    )
    return service, Principal(token_id=1, project_id=world.project.id, role=Role.ADMIN)


def _pids(world: World) -> set[int]:
    return {p.handle.pid for p in world.runtime.running()}


async def test_scaling_up_and_down_keeps_the_running_replicas(world: World):
    service, admin = _service(world)
    ep = world.create(replicas=1)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, ep, 1))
    first = _pids(world)

    scaled = service.patch(admin, ep.name, {"replicas": 3, "autoscale": {"max_replicas": 4}})
    assert scaled.generation == 2 and scaled.template_generation == 1
    await until(world, ctl, all_ready(world, scaled, 3))
    assert first <= _pids(world), "the replica that was serving is still the same process"
    assert {r.generation for r in world.replicas(ep)} == {1}
    assert "RolloutStarted" not in world.reasons(ep)

    service.patch(admin, ep.name, {"replicas": 1, "async_config": {"enabled": True}})
    for _ in range(60):
        await ctl.tick()
        world.clock.advance(1)
        if len(world.replicas(ep)) == 1:  # stopped replicas' records go once their process has
            break
    live = [r for r in world.replicas(ep) if r.state is not ReplicaState.STOPPED]
    assert len(live) == 1 and live[0].state is ReplicaState.READY
    assert len(world.runtime.running()) == 1
    assert "RolloutStarted" not in world.reasons(ep)


async def test_changing_what_a_replica_runs_rolls_it(world: World):
    service, admin = _service(world)
    ep = world.create(replicas=1)
    ctl = world.controller()
    await until(world, ctl, all_ready(world, ep, 1))
    first = _pids(world)

    patched = service.patch(admin, ep.name, {"engine_args": {"threads": 2}})
    assert patched.generation == patched.template_generation == 2

    def rolled() -> bool:
        reps = [r for r in world.replicas(ep) if r.state is not ReplicaState.STOPPED]
        return len(reps) == 1 and reps[0].generation == 2 and reps[0].state is ReplicaState.READY

    await until(world, ctl, rolled)
    assert not first & _pids(world)
    assert "RolloutStarted" in world.reasons(ep)
