"""The controller's LeaseKeeper on a real store and a fake clock: it stops acting before any other
controller could take the lease over."""

from __future__ import annotations

import pytest

from modelport.controller.lease import LeaseKeeper, LeaseStatus
from modelport.domain.errors import LeaseLost
from tests.unit.controller.conftest import World

INTERVAL = 1.0  # lease: 5 s; acted on for 3 s after each renewal


def keeper(world: World, holder: str) -> LeaseKeeper:
    return LeaseKeeper(world.store, "controller", holder, world.clock, INTERVAL)


async def test_it_stops_acting_before_another_controller_can_take_over(world: World):
    a = keeper(world, "a")
    assert await a.acquire()
    fence = a.fence()
    assert fence is not None and fence.holder == "a"
    world.clock.advance(2.9)
    assert a.fence() == fence
    world.clock.advance(0.1)  # 2 ticks of the lease may be left: too little to act on
    with pytest.raises(LeaseLost):
        a.fence()
    assert a.status is LeaseStatus.LOST
    # At that moment the lease is still a's in the store: nobody else acts yet either.
    assert world.store.try_acquire_lease("controller", "b", 5, world.clock.now()) is None


async def test_keep_renews_a_held_lease_in_the_same_term(world: World):
    a = keeper(world, "a")
    assert await a.acquire()
    term = a.generation
    world.clock.advance(2.5)  # a long tick
    await a.keep()
    assert a.generation == term
    world.clock.advance(2.5)
    assert a.fence() is not None, "renewed by keep(): the acting window starts anew"


async def test_keep_ends_the_tick_once_another_holds_the_lease(world: World):
    a, b = keeper(world, "a"), keeper(world, "b")
    assert await a.acquire()
    world.clock.advance(6)  # a stalled past its lease
    assert await b.acquire()
    with pytest.raises(LeaseLost):
        await a.keep()
    assert not await a.acquire(), "b holds it"


async def test_a_lease_never_claimed_leaves_writes_unfenced(world: World):
    a = keeper(world, "a")
    assert a.fence() is None  # tick() driven directly, as unit tests do
    await a.keep()
    assert a.status is LeaseStatus.UNCLAIMED
