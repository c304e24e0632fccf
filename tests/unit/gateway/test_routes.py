"""The route table: RUNNING endpoints with their READY replicas, rebuilt atomically."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from modelport.domain.records import Endpoint, Replica, ReplicaHandle
from modelport.domain.specs import EndpointSpec, Framework
from modelport.domain.states import DesiredState, ReplicaState
from modelport.gateway.routes import ReplicaTarget, RouteTable

NOW = datetime(2026, 1, 1, tzinfo=UTC)
SPEC = EndpointSpec(framework=Framework.CUSTOM, command=["serve"], max_concurrency=4)


def endpoint(id: int, project_id: int, name: str, desired: DesiredState) -> Endpoint:
    return Endpoint(
        id=id, project_id=project_id, name=name, spec=SPEC, generation=1, template_generation=1,
        desired_state=desired,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def replica(id: int, endpoint_id: int, port: int | None) -> Replica:
    handle = None if port is None else ReplicaHandle(backend="local", host="127.0.0.1", port=port)
    return Replica(
        id=id, endpoint_id=endpoint_id, project_id=1, generation=1, state=ReplicaState.READY,
        handle=handle, restart_count=0, state_reason="", state_changed_at=NOW,
        next_attempt_at=None, ready_at=NOW, created_at=NOW,
    )  # fmt: skip


class StubStore:
    """The two reads the route table makes; `fail` makes the next refresh raise."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []
        self.replicas: list[Replica] = []
        self.fail = False

    def list_replicas(self) -> Sequence[Replica]:
        if self.fail:
            raise ConnectionError("database unavailable")
        return self.replicas

    def list_endpoints(self, project_id: int | None = None) -> Sequence[Endpoint]:
        return self.endpoints


async def test_refresh_builds_routes_for_running_endpoints_only() -> None:
    store = StubStore()
    store.endpoints = [
        endpoint(1, 1, "web", DesiredState.RUNNING),
        endpoint(2, 1, "off", DesiredState.STOPPED),
        endpoint(3, 2, "web", DesiredState.RUNNING),
        endpoint(4, 1, "cold", DesiredState.RUNNING),
    ]
    store.replicas = [replica(11, 1, 9001), replica(10, 1, 9000), replica(12, 2, 9002)]
    table = RouteTable()
    await table.refresh(store)

    web = table.lookup(1, "web")
    assert web is not None
    assert web.replicas == (
        ReplicaTarget(10, "http://127.0.0.1:9000"),
        ReplicaTarget(11, "http://127.0.0.1:9001"),
    )
    assert web.max_concurrency == 4
    assert table.get(1) is web
    assert table.lookup(1, "off") is None  # stopped: no route even with a ready replica
    other = table.lookup(2, "web")
    assert other is not None and other.replicas == ()
    cold = table.lookup(1, "cold")
    assert cold is not None and cold.replicas == ()  # running, nothing ready yet: 503 not 404
    assert [r.name for r in table.endpoints(1)] == ["cold", "web"]
    assert table.endpoints(99) == ()


async def test_replicas_without_an_address_are_not_routed() -> None:
    store = StubStore()
    store.endpoints = [endpoint(1, 1, "web", DesiredState.RUNNING)]
    store.replicas = [replica(10, 1, None)]
    table = RouteTable()
    await table.refresh(store)
    route = table.lookup(1, "web")
    assert route is not None and route.replicas == ()


async def test_loop_keeps_the_last_good_table_and_picks_up_changes_when_poked() -> None:
    store = StubStore()
    store.endpoints = [endpoint(1, 1, "web", DesiredState.RUNNING)]
    store.replicas = [replica(10, 1, 9000)]
    table = RouteTable()
    stop = asyncio.Event()
    loop = asyncio.create_task(table.run(store, interval=60, stop=stop))
    try:
        while table.lookup(1, "web") is None:
            await asyncio.sleep(0.01)
        store.fail = True
        table.refresh_soon()
        await asyncio.sleep(0.05)
        route = table.lookup(1, "web")
        assert route is not None and len(route.replicas) == 1  # failure kept the old table
        store.fail = False
        store.replicas = [replica(10, 1, 9000), replica(11, 1, 9001)]
        table.refresh_soon()  # long interval: only the poke can make this visible
        for _ in range(100):
            route = table.lookup(1, "web")
            if route is not None and len(route.replicas) == 2:
                break
            await asyncio.sleep(0.01)
        assert route is not None and len(route.replicas) == 2
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=5)


async def test_each_target_carries_its_replica_key_opened_once() -> None:
    opened: list[str] = []

    def unseal(sealed: str) -> str:
        opened.append(sealed)
        return sealed.removeprefix("sealed:")

    store = StubStore()
    store.endpoints = [endpoint(1, 1, "web", DesiredState.RUNNING)]
    keyed = replica(10, 1, 9000)
    assert keyed.handle is not None
    keyed = keyed.model_copy(
        update={"handle": keyed.handle.model_copy(update={"sealed_key": "sealed:k10"})}
    )
    store.replicas = [keyed, replica(11, 1, 9001)]  # 11: an engine without a key
    table = RouteTable(unseal=unseal)

    await table.refresh(store)
    await table.refresh(store)

    route = table.lookup(1, "web")
    assert route is not None
    assert [t.authorization for t in route.replicas] == ["Bearer k10", None]
    assert opened == ["sealed:k10"]  # decrypted once, not on every refresh
    assert "k10" not in repr(route)
