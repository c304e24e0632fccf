"""Client.restart_replica / AsyncClient.restart_replica against the real API over HTTP."""

from __future__ import annotations

import pytest

from modelport.domain.states import ReplicaState
from modelport.sdk import AsyncClient, Client, ConflictError, NotFoundError
from tests.unit.sdk.live_server import WEB_SPEC, LiveServer


def test_restart_one_replica_and_the_errors_name_it(server: LiveServer) -> None:
    client = Client(server.url, server.admin_token)
    client.create_endpoint("web", {**WEB_SPEC, "replicas": 2})
    target = server.move(server.add_replica("web"), ReplicaState.STARTING, ReplicaState.READY)
    other = server.move(server.add_replica("web"), ReplicaState.STARTING, ReplicaState.READY)

    marked = client.restart_replica("web", target.id)

    assert (marked.id, marked.state) == (target.id, ReplicaState.READY)
    assert marked.restart_requested_at is not None
    listed = {r.id: r.restart_requested_at for r in client.replicas("web").items}
    assert listed == {target.id: marked.restart_requested_at, other.id: None}

    with pytest.raises(NotFoundError) as unknown:
        client.restart_replica("web", 987_654)
    assert unknown.value.field == "replica"
    server.move(other, ReplicaState.DRAINING)
    with pytest.raises(ConflictError) as leaving:
        client.restart_replica("web", other.id)
    assert leaving.value.field == "replica"


async def test_the_async_client_restarts_a_replica_too(server: LiveServer) -> None:
    async with AsyncClient(server.url, server.admin_token) as client:
        await client.create_endpoint("web", WEB_SPEC)
        replica = server.add_replica("web")
        marked = await client.restart_replica("web", replica.id)
        assert marked.id == replica.id
        assert marked.restart_requested_at is not None
