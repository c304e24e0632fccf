"""The probes resolved at launch live in the replica's handle: a controller probes what was
launched without asking the engine adapter to plan again (only handles stored before the probes
were, older rows, are re-planned once per generation)."""

from __future__ import annotations

from modelport.domain.records import Endpoint, Replica
from modelport.domain.specs import Framework
from modelport.domain.states import ReplicaState
from tests.unit.controller.conftest import ALIVE_PROBE, READY_PROBE, World
from tests.unit.controller.test_loop import all_ready, states, until


def only_replica(world: World, endpoint: Endpoint) -> Replica:
    (replica,) = world.replicas(endpoint)
    return replica


async def test_a_launched_replica_is_probed_from_its_handle_without_planning_again(world: World):
    ep = world.create(replicas=1)
    await until(world, world.controller("first"), all_ready(world, ep, 1))
    handle = only_replica(world, ep).handle
    assert handle is not None
    assert (handle.readiness, handle.liveness) == (READY_PROBE, ALIVE_PROBE)
    engine = world.engines[Framework.CUSTOM]
    planned = len(engine.plans)

    # A restarted control plane: it knows nothing of the launch, only the stored handle.
    second = world.controller("second")
    await world.ticks(second, 3)
    await second.wait_for_probes()
    assert len(engine.plans) == planned, "no plan() for a replica that is already launched"
    assert states(world, ep) == [ReplicaState.READY]

    # And the stored liveness probe is the one that runs: failing it restarts the replica.
    world.runtime.set_probe(handle, "alive", False)
    await until(world, second, lambda: only_replica(world, ep).restart_count == 1)


async def test_a_handle_stored_without_probes_is_planned_once_for_its_generation(world: World):
    ep = world.create(replicas=1)
    await until(world, world.controller("first"), all_ready(world, ep, 1))
    replica = only_replica(world, ep)
    assert replica.handle is not None
    older = replica.handle.model_copy(update={"readiness": None, "liveness": None})
    world.store.transition_replica(
        replica.id, ReplicaState.READY, ReplicaState.STARTING, now=world.clock.now(), handle=older
    )
    engine = world.engines[Framework.CUSTOM]
    planned = len(engine.plans)

    second = world.controller("second")
    await until(world, second, all_ready(world, ep, 1))
    await world.ticks(second, 3)
    assert len(engine.plans) == planned + 1, "re-planned once, then cached per generation"
