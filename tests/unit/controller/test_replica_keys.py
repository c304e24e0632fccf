"""Per-replica keys: the applier seals each launched replica's key into its stored handle (so it
survives a control-plane restart) and no dump shows it; HTTP probes send it to the replica's own
port only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from modelport.clock import FakeClock
from modelport.controller.probes import ProbeRunner
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import ProbeSpec
from modelport.domain.states import ReplicaState
from modelport.runtime.fake import FakeRuntime
from tests.unit.controller.conftest import World

KEY = "the-replica-key"


async def test_each_launched_replica_gets_its_own_key_sealed_in_its_handle(world: World):
    ep = world.create(replicas=2)
    ctl = world.controller()
    await ctl.tick()
    world.clock.advance(1)
    await ctl.tick()

    replicas = world.replicas(ep)
    assert [r.state for r in replicas] == [ReplicaState.STARTING] * 2
    plans = {p.plan.port: p.plan for p in world.runtime.running()}
    keys = set()
    for replica in replicas:
        handle = replica.handle
        assert handle is not None and handle.sealed_key is not None
        plan = plans[handle.port]
        assert plan.replica_key is not None and len(plan.replica_key) >= 32
        assert handle.sealed_key != plan.replica_key  # encrypted at rest
        assert world.box.decrypt(handle.sealed_key) == plan.replica_key
        assert plan.replica_key not in handle.model_dump_json()  # what APIs and logs see
        assert "sealed_key" not in handle.model_dump() and plan.replica_key not in repr(handle)
        keys.add(plan.replica_key)
    assert len(keys) == 2  # one per replica
    for event in world.store.list_events(ep.id, limit=100):
        assert not any(key in event.message for key in keys)


@pytest.fixture
async def keyed_server() -> AsyncIterator[int]:
    """A replica-like server that answers only requests carrying its key."""

    async def health(request: web.Request) -> web.Response:
        ok = request.headers.get("Authorization") == f"Bearer {KEY}"
        return web.Response(status=200 if ok else 401)

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


async def test_http_probes_send_the_replica_key(keyed_server: int):
    runner = ProbeRunner(
        FakeRuntime(), FakeClock(), unseal=lambda sealed: sealed.removeprefix("s:")
    )
    keyed = ReplicaHandle(
        backend="fake", host="127.0.0.1", port=keyed_server, sealed_key=f"s:{KEY}"
    )
    keyless = keyed.model_copy(update={"sealed_key": None})
    try:
        assert (await runner.check(keyed, ProbeSpec(path="/health"))).ok
        refused = await runner.check(keyless, ProbeSpec(path="/health"))
        assert not refused.ok and refused.detail == "GET /health: HTTP 401"
        # A probe aimed at another port never carries this replica's key there.
        elsewhere = keyed.model_copy(update={"port": 9})
        probe = ProbeSpec(path="/health", port=keyed_server)
        assert not (await runner.check(elsewhere, probe)).ok
    finally:
        await runner.close()
