"""Restarting one replica through the controller loop (real store, fake runtime and clock)."""

from __future__ import annotations

from modelport.domain.states import ReplicaState
from tests.unit.controller.conftest import World
from tests.unit.controller.test_loop import all_ready, until

READY = ReplicaState.READY
ANY_LIVE = frozenset({ReplicaState.PENDING, ReplicaState.STARTING, READY, ReplicaState.FAILED})


async def test_one_replica_is_replaced_the_other_untouched_even_across_a_handover(world: World):
    ep = world.create(replicas=2)
    first = world.controller("first")
    await until(world, first, all_ready(world, ep, 2))
    target, kept = world.replicas(ep)
    assert target.handle is not None and kept.handle is not None
    world.store.request_replica_restart(target.id, ANY_LIVE, world.clock.now())

    # The first controller creates the replacement, then the control plane goes away.
    await until(world, first, lambda: len(world.replicas(ep)) == 3)
    await first.shutdown()
    assert world.store.get_replica(target.id).state is READY

    second = world.controller("second")

    def replaced() -> bool:
        reps = world.replicas(ep)
        return target.id not in {r.id for r in reps} and all(r.state is READY for r in reps)

    for _ in range(40):
        if replaced():
            break
        await second.tick()
        await second.wait_for_probes()
        world.clock.advance(1.0)
        reps = world.replicas(ep)
        assert sum(r.state is READY for r in reps) >= 2, "never below the wanted ready count"
    assert replaced()

    after = world.replicas(ep)
    assert len(after) == 2
    assert world.store.get_replica(kept.id).handle == kept.handle  # its process kept running
    fresh = next(r for r in after if r.id != kept.id)
    assert fresh.generation == target.generation
    assert fresh.restart_requested_at is None
    assert world.runtime.stop_calls == [target.handle], "only the restarted replica was stopped"
    assert fresh.handle is not None
    running = {p.handle.pid for p in world.runtime.running()}
    assert running == {kept.handle.pid, fresh.handle.pid}
    events = world.store.list_events(ep.id, limit=10_000)
    drained = [e for e in events if e.reason == "ReplicaDraining"]
    assert [e.replica_id for e in drained] == [target.id]
    assert "restart requested" in drained[0].message
    assert not {"RolloutStarted", "RolloutComplete"} & {e.reason for e in events}
