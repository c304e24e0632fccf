"""Which endpoints a tick reconciles: after a full pass, only those that changed or need
watching (live replicas, autoscaled, deleted, poked), on a real store with the fake clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from modelport.clock import FakeClock
from modelport.controller.loop import Controller
from modelport.controller.selection import TickSelector
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState
from modelport.store.paging import ReconcileCandidates
from modelport.store.tables import endpoints
from modelport.store.watermark import OVERLAP, SETTLE
from tests.unit.controller.conftest import World

QUIET = 30.0  # seconds: longer than the watermark's overlap


def test_selector_is_full_first_then_changes_then_full_after_the_interval() -> None:
    clock = FakeClock()
    selector = TickSelector(clock, resync_interval=60.0)
    stamp = clock.now()
    assert selector.choose(ReconcileCandidates(frozenset({1}), stamp)) is None  # full
    assert selector.since == stamp - OVERLAP
    selector.carry(7)
    assert selector.choose(ReconcileCandidates(frozenset({1, 2}), stamp)) == {1, 2, 7}
    assert selector.choose(ReconcileCandidates(frozenset(), stamp)) == frozenset()  # carried once
    clock.advance(60.0)
    assert selector.choose(ReconcileCandidates(frozenset(), stamp)) is None
    assert selector.since == stamp  # nothing newer for a while: the overlap is no longer read
    selector.resync_soon()
    assert selector.since is None


def test_store_candidates_leave_idle_and_stopped_endpoints_out(world: World) -> None:
    idle = world.create("idle", replicas=0)
    stopped = world.create("stopped", replicas=0)
    world.store.update_endpoint(stopped.id, expected_generation=None,
                                desired_state=DesiredState.STOPPED)  # fmt: skip
    busy = world.create("busy", replicas=1)
    world.store.create_replica(busy.id, 1, world.clock.now())
    auto = world.create("auto", replicas=0, autoscale={"enabled": True, "min_replicas": 0})
    world.clock.advance(QUIET)
    changed = world.create("changed", replicas=0)
    since = world.clock.now() - timedelta(seconds=1)
    found = world.store.reconcile_candidates(since)
    assert found.ids == {busy.id, auto.id, changed.id}
    assert idle.id not in found.ids and stopped.id not in found.ids
    assert found.high_water == world.clock.now()


def test_a_burst_of_changes_is_read_again_until_it_settles_then_no_more(world: World) -> None:
    """After many endpoints change at once, the ticks that follow re-read the last OVERLAP of
    them (a late commit with an older stamp is still seen) only until SETTLE seconds pass with
    nothing newer; then a tick reads from the newest stamp on (before: every tick, forever)."""
    selector = TickSelector(world.clock, resync_interval=3600.0)
    burst = []
    for i in range(6):
        burst.append(world.create(f"burst-{i}", replicas=0).id)
        world.clock.advance(1.0)
    assert selector.choose(world.store.reconcile_candidates(selector.since)) is None  # full
    assert world.store.reconcile_candidates(selector.since).ids == set(burst)
    world.clock.advance(SETTLE)
    selector.choose(world.store.reconcile_candidates(selector.since))
    assert world.store.reconcile_candidates(selector.since).ids == {burst[-1]}
    moved = world.create("after", replicas=0).id  # a new change opens the window again
    selector.choose(world.store.reconcile_candidates(selector.since))
    assert selector.since == world.clock.now() - OVERLAP
    assert world.store.reconcile_candidates(selector.since).ids == {moved}


async def test_a_quiet_endpoint_is_left_alone_until_it_changes_or_is_poked(world: World) -> None:
    settings = world.settings.model_copy(update={"controller_resync_interval": 3600.0})
    controller = Controller(world.store, world.runtime, world.box, world.clock, settings,
                            adapters=world.adapter)  # fmt: skip
    quiet = world.create("quiet", replicas=0)
    await controller.tick()  # the first pass is full
    world.clock.advance(QUIET)
    world.create("newer", replicas=0)  # the watermark follows the newest change stored
    await controller.tick()
    # A write the watermark cannot see (no updated_at): a quiet endpoint is not read again...
    wants_one = EndpointSpec.model_validate_json(quiet.spec.model_dump_json())
    wants_one = wants_one.model_copy(update={"replicas": 1})
    with world.store._engine.begin() as conn:
        conn.execute(update(endpoints).where(endpoints.c.id == quiet.id)
                     .values(spec=wants_one.model_dump_json()))  # fmt: skip
    await controller.tick()
    assert world.replicas(quiet) == []
    controller.poke(quiet.id)  # ...until someone asks for it (or the next full pass)
    await controller.tick()
    assert len(world.replicas(quiet)) == 1

    other = world.create("other", replicas=0)
    world.clock.advance(QUIET)
    world.store.update_endpoint(other.id, expected_generation=None,
                                secret_spec_json=wants_one.model_dump_json())  # fmt: skip
    await controller.tick()  # a normal change is seen through the watermark
    assert len(world.replicas(other)) == 1
