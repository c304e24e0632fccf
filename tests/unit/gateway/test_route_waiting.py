"""RouteTable.wait_for_replicas: waiters wake on the swap that gives their endpoint a READY
replica (or says none can start, or drops the endpoint), and not before."""

from __future__ import annotations

import asyncio
from pathlib import Path

from modelport.domain.specs import EndpointSpec, Framework
from tests.unit.gateway.gateway_harness import harness

SPEC = EndpointSpec(framework=Framework.CUSTOM, command=["serve"])


async def test_waiters_wake_on_the_swap_that_brings_a_ready_replica(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        cold = h.add_endpoint("cold", SPEC)
        other = h.add_endpoint("other", SPEC)
        await h.routes.refresh(h.store)
        waiters = [asyncio.create_task(h.routes.wait_for_replicas(cold)) for _ in range(3)]
        quitter = asyncio.create_task(h.routes.wait_for_replicas(cold))
        await asyncio.sleep(0)
        quitter.cancel()  # one waiter giving up must not wake or break the others
        h.ready_replica(other, 9001)
        await h.routes.refresh(h.store)  # a swap, but not for `cold`
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiters)
        h.ready_replica(cold, 9002)
        await h.routes.refresh(h.store)
        routes = await asyncio.wait_for(asyncio.gather(*waiters), 5)
    assert all(r is not None and [t.url for t in r.replicas] == ["http://127.0.0.1:9002"]
               for r in routes)  # fmt: skip


async def test_a_crash_looping_endpoint_is_marked_unavailable(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        endpoint_id = h.add_endpoint("web", SPEC)
        await h.routes.refresh(h.store)
        route = h.routes.get(endpoint_id)
        assert route is not None and route.unavailable is None  # nothing started yet: hold
        h.crashed_replica(endpoint_id)
        await h.routes.refresh(h.store)
        route = await asyncio.wait_for(h.routes.wait_for_replicas(endpoint_id), 5)
    assert route is not None and not route.replicas
    assert route.unavailable is not None and "restarted 1 times" in route.unavailable


async def test_a_ready_replica_clears_unavailable(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        endpoint_id = h.add_endpoint("web", SPEC)
        h.crashed_replica(endpoint_id)
        h.ready_replica(endpoint_id, 9003)
        await h.routes.refresh(h.store)
        route = h.routes.get(endpoint_id)
    assert route is not None and route.unavailable is None and len(route.replicas) == 1


async def test_a_management_change_waits_until_the_table_shows_it(tmp_path: Path) -> None:
    """wait_fresh, called from an API worker thread after a write, returns once a table read
    after the write is in place, although the periodic refresh would not come for a minute."""
    async with harness(tmp_path) as h:
        stop = asyncio.Event()
        loop_task = asyncio.create_task(h.routes.run(h.store, 60.0, stop))
        await asyncio.sleep(0)  # run() takes the loop before its first await

        def create_then_wait() -> int:
            endpoint_id = h.add_endpoint("new", SPEC)
            h.routes.wait_fresh(timeout=10)
            return endpoint_id

        endpoint_id = await asyncio.to_thread(create_then_wait)
        try:
            assert h.routes.get(endpoint_id) is not None, "the caller's next request finds it"
        finally:
            stop.set()
            await loop_task


async def test_wait_fresh_on_the_loop_itself_only_asks(tmp_path: Path) -> None:
    async with harness(tmp_path) as h:
        stop = asyncio.Event()
        loop_task = asyncio.create_task(h.routes.run(h.store, 60.0, stop))
        await asyncio.sleep(0)  # run() takes the loop before its first await
        endpoint_id = h.add_endpoint("new", SPEC)
        h.routes.wait_fresh(timeout=10)  # must not block the loop that would do the refresh
        try:
            await asyncio.wait_for(h.routes.fresh(), 5)
            assert h.routes.get(endpoint_id) is not None
        finally:
            stop.set()
            await loop_task
