"""Holding requests for an endpoint with no READY replica: served once one is READY, counted as
demand meanwhile, failed fast when no replica can start, 503 after the hold timeout, released
when the client leaves or the endpoint stops."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import DesiredState
from tests.unit.gateway.gateway_harness import Harness, Recorded, echo_upstream, harness

SPEC = EndpointSpec(framework=Framework.CUSTOM, command=["serve"])
DEADLINE = 10.0


async def until(condition: Callable[[], bool]) -> None:
    """Poll (event-loop turns, then short naps) until `condition` holds; fail at the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + DEADLINE
    while not condition():
        assert loop.time() < end, "condition not met before the deadline"
        await asyncio.sleep(0.01)


def held(h: Harness, endpoint_id: int, count: int) -> Callable[[], bool]:
    return lambda: h.gateway.load.in_flight(endpoint_id) == count


def start(h: Harness, path: str, client: Recorded | None = None) -> asyncio.Task[Recorded]:
    async def run() -> Recorded:
        recorded = client or Recorded()
        await h.gateway.handle(h.scope("POST", path), recorded)
        return recorded

    return asyncio.create_task(run())


async def test_held_requests_are_served_by_the_first_ready_replica(tmp_path: Path) -> None:
    demanded: list[int] = []
    async with harness(tmp_path, on_demand=demanded.append) as h, echo_upstream() as port:
        endpoint_id = h.add_endpoint("web", SPEC)
        await h.routes.refresh(h.store)
        tasks = [start(h, f"/endpoints/web/v1/n{i}") for i in range(4)]
        await until(held(h, endpoint_id, 4))  # all four wait, counted as in flight
        assert demanded == [endpoint_id] * 4
        assert not any(task.done() for task in tasks)
        h.ready_replica(endpoint_id, port)
        await h.routes.refresh(h.store)
        answers = await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
        assert [a.status for a in answers] == [200] * 4
        assert [a.json()["path"] for a in answers] == [f"/v1/n{i}" for i in range(4)]
        assert h.gateway.load.in_flight(endpoint_id) == 0
        metrics = (await h.call("GET", "/metrics", b"")).body.decode()
        assert 'modelport_gateway_held_requests{endpoint="web"} 0.0' in metrics
        assert 'modelport_gateway_holds_total{endpoint="web",outcome="served"} 4.0' in metrics


async def test_hold_timeout_answers_503_with_retry_after(tmp_path: Path) -> None:
    async with harness(tmp_path, hold_timeout=0.2) as h:
        endpoint_id = h.add_endpoint("web", SPEC)
        await h.routes.refresh(h.store)
        answer = await h.call("POST", "/endpoints/web/v1/chat/completions", b"{}")
        assert answer.status == 503
        assert answer.header(b"retry-after") is not None
        assert answer.json()["error"]["code"] == "hold_timeout"
        assert h.gateway.load.in_flight(endpoint_id) == 0
        metrics = (await h.call("GET", "/metrics", b"")).body.decode()
        assert 'modelport_gateway_holds_total{endpoint="web",outcome="timeout"} 1.0' in metrics


async def test_crash_looping_replicas_fail_held_and_new_requests_fast(tmp_path: Path) -> None:
    async with harness(tmp_path, hold_timeout=60) as h:
        endpoint_id = h.add_endpoint("web", SPEC)
        await h.routes.refresh(h.store)
        waiting = start(h, "/endpoints/web/v1/x")
        await until(held(h, endpoint_id, 1))
        h.crashed_replica(endpoint_id)
        await h.routes.refresh(h.store)
        first = await asyncio.wait_for(waiting, DEADLINE)  # long before the 60 s timeout
        later = await h.call("POST", "/endpoints/web/v1/x")
    for answer in (first, later):
        assert answer.status == 503
        assert answer.header(b"retry-after") is not None
        error = answer.json()["error"]
        assert error["code"] == "endpoint_unavailable"
        assert "keep failing (restarted 1 times)" in error["message"]


async def test_a_client_that_leaves_while_held_is_released(tmp_path: Path) -> None:
    async with harness(tmp_path, hold_timeout=60) as h:
        endpoint_id = h.add_endpoint("web", SPEC)
        await h.routes.refresh(h.store)
        client = Recorded()
        task = start(h, "/endpoints/web/v1/x", client)
        await until(held(h, endpoint_id, 1))
        client.leave()
        await asyncio.wait_for(task, DEADLINE)
        assert client.status == 0  # nobody to answer
        assert h.gateway.load.in_flight(endpoint_id) == 0
        [report] = h.gateway.load.collect(now=1.0)
        assert (report.in_flight, report.completed) == (0, 1)


async def test_an_endpoint_stopped_while_held_answers_404(tmp_path: Path) -> None:
    async with harness(tmp_path, hold_timeout=60) as h:
        endpoint_id = h.add_endpoint("web", SPEC)
        await h.routes.refresh(h.store)
        task = start(h, "/endpoints/web/v1/x")
        await until(held(h, endpoint_id, 1))
        h.store.update_endpoint(
            endpoint_id, expected_generation=None, desired_state=DesiredState.STOPPED
        )
        await h.routes.refresh(h.store)
        answer = await asyncio.wait_for(task, DEADLINE)
    assert answer.status == 404
    assert "stopped while the request waited" in answer.json()["error"]["message"]
