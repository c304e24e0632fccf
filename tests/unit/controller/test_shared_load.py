"""The leader's view of every server's load (controller/shared_load.py) on a real SQLite store
and a FakeClock: other servers' rows summed as one reporter each, completions counted once,
this server's own row never counted, silent rows aged out and later deleted, held requests
elsewhere as demand that wakes an endpoint at zero, and draining that waits for every server."""

from __future__ import annotations

from collections.abc import Sequence

from modelport.autoscaler.window import GatewayReport
from modelport.controller.loop import Controller
from modelport.controller.shared_load import SETTLE_TICKS, UNSETTLED, SharedLoad
from modelport.domain.states import DesiredState, ReplicaState
from modelport.store.loads import EndpointLoad, ServerLoad
from tests.unit.controller.conftest import World
from tests.unit.controller.test_loop import all_ready, states, until

ME = "server-me"


def local_reports(now: float) -> Sequence[GatewayReport]:
    return [GatewayReport("gateway-local", "1", now, 1, 0)]


def shared(world: World, local_inflight: dict[int, int] | None = None) -> SharedLoad:
    counts = local_inflight or {}
    return SharedLoad(
        world.store, world.clock, ME, local=local_reports,
        local_inflight=lambda r: counts.get(r, 0), interval=1.0,
    )  # fmt: skip


def publish(
    world: World,
    server: str,
    seq: int,
    *entries: EndpointLoad,
    replicas: dict[int, int] | None = None,
) -> None:
    load = ServerLoad(endpoints=entries, replicas=replicas or {})
    world.store.publish_load(server, seq, load, world.clock.now())


def load(
    endpoint_id: int, in_flight: int = 0, completed: int = 0, since: int = 1, held: int = 0
) -> EndpointLoad:
    return EndpointLoad(
        endpoint_id=endpoint_id, in_flight=in_flight, completed=completed, since=since, held=held
    )


def by_reporter(reports: Sequence[GatewayReport]) -> dict[str, tuple[int, int]]:
    return {r.reporter: (r.in_flight, r.completed) for r in reports}


async def test_other_servers_are_one_reporter_each_and_this_ones_row_is_skipped(
    world: World,
) -> None:
    view = shared(world)
    publish(world, ME, 1, load(1, in_flight=50, completed=500))  # from memory instead
    publish(world, "server-b", 1, load(1, in_flight=2, completed=10))
    publish(world, "server-c", 1, load(1, in_flight=3, completed=4))
    await view.refresh()  # the first read: completions so far are a baseline, not load
    assert by_reporter(view.collect(world.clock.monotonic())) == {
        "gateway-local": (1, 0), "server-b": (2, 0), "server-c": (3, 0),
    }  # fmt: skip

    world.clock.advance(1)
    publish(world, "server-b", 2, load(1, in_flight=1, completed=13))
    publish(world, "server-c", 2, load(1, in_flight=0, completed=1, since=2))  # a new count
    await view.refresh()
    assert by_reporter(view.collect(world.clock.monotonic())) == {
        "gateway-local": (1, 0), "server-b": (1, 3), "server-c": (0, 1),
    }  # fmt: skip

    world.clock.advance(1)
    await view.refresh()  # nothing new written: the same totals count nothing twice
    assert by_reporter(view.collect(world.clock.monotonic())) == {
        "gateway-local": (1, 0), "server-b": (1, 0), "server-c": (0, 0),
    }  # fmt: skip


async def test_a_silent_servers_row_ages_out_then_is_deleted(world: World) -> None:
    view = shared(world)
    publish(world, "server-b", 1, load(1, in_flight=2, held=2), replicas={7: 2})
    assert await view.refresh() == {1}
    assert view.inflight(7) == 2
    world.clock.advance(3.5)  # three ticks and a half without a write: no longer counted
    assert await view.refresh() == set()
    assert by_reporter(view.collect(world.clock.monotonic())) == {"gateway-local": (1, 0)}
    world.clock.advance(SETTLE_TICKS)
    assert view.inflight(7) == 0

    world.clock.advance(11 * 60)
    await view.refresh()
    assert world.store.server_loads() == []


async def test_a_row_that_comes_back_is_not_counted_again(world: World) -> None:
    view = shared(world)
    counted: list[int] = []

    async def tick() -> None:
        await view.refresh()
        counted.extend(r.completed for r in view.collect(0.0) if r.reporter == "server-b")
        world.clock.advance(1)

    publish(world, "server-b", 1, load(1, in_flight=1, completed=5))
    await tick()
    publish(world, "server-b", 2, load(1, in_flight=1, completed=8))
    for _ in range(5):  # the row goes stale (the server paused); the leader ticks on
        await tick()
    publish(world, "server-b", 3, load(1, in_flight=1, completed=9))
    await tick()
    assert sum(counted) == 4  # 8 - 5, then 9 - 8


async def test_draining_waits_for_every_servers_requests(world: World) -> None:
    local = {5: 0}
    view = shared(world, local)
    await view.refresh()
    assert view.inflight(5) == 0  # no other server: nothing to wait for

    publish(world, "server-b", 1, replicas={5: 2})
    world.clock.advance(1)
    await view.refresh()
    local[5] = 1
    assert view.inflight(5) == 3
    local[5] = 0
    publish(world, "server-b", 2)
    world.clock.advance(1)
    await view.refresh()
    # Another server publishes: a replica first asked about now may still have a request
    # there that is not published yet.
    assert view.inflight(6) == UNSETTLED
    world.clock.advance(SETTLE_TICKS)
    assert view.inflight(5) == 0 and view.inflight(6) == 0


def leader(world: World) -> Controller:
    """The leading controller as the server wires it: its own gateway idle, the others' read
    through SharedLoad once a tick."""
    view = SharedLoad(
        world.store, world.clock, ME, local=lambda _now: (), local_inflight=lambda _r: 0,
        interval=1.0,
    )  # fmt: skip
    return Controller(
        world.store, world.runtime, world.box, world.clock, world.settings,
        holder_id=ME, adapters=world.adapter, load=view.collect, inflight=view.inflight,
        demand=view.refresh,
    )  # fmt: skip


async def test_a_request_held_on_another_server_wakes_an_endpoint_at_zero(world: World) -> None:
    ep = world.create(
        replicas=0,
        autoscale={"enabled": True, "min_replicas": 0, "max_replicas": 1},
    )
    ctl = leader(world)
    await world.ticks(ctl, 3)
    assert world.replicas(ep) == []
    publish(world, "server-b", 1, load(ep.id, in_flight=1, held=1))
    await ctl.tick()  # the next tick reads it and asks for a replica
    assert [r.state for r in world.replicas(ep)] != []
    await until(world, ctl, all_ready(world, ep, 1))


async def test_a_draining_replica_is_stopped_only_once_no_server_has_a_request_in_it(
    world: World,
) -> None:
    ep = world.create(replicas=1)
    ctl = leader(world)
    await until(world, ctl, all_ready(world, ep, 1))
    (replica,) = world.replicas(ep)
    world.store.update_endpoint(ep.id, expected_generation=None, desired_state=DesiredState.STOPPED)
    for _ in range(10):
        publish(world, "server-b", 1, load(ep.id, in_flight=1), replicas={replica.id: 1})
        await ctl.tick()
        world.clock.advance(1)
    assert states(world, ep) == [ReplicaState.DRAINING]
    publish(world, "server-b", 2, load(ep.id))
    await until(world, ctl, lambda: world.replicas(ep) == [])
