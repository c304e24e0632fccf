"""wait_ready against the real API; the test moves replicas through the store like a controller."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modelport.domain.records import EventLevel, Replica
from modelport.domain.states import EndpointPhase, ReplicaState
from modelport.schemas.native import EndpointPublic
from modelport.sdk import (
    AsyncClient,
    Client,
    EndpointFailedError,
    EndpointStoppedError,
    WaitTimeoutError,
)
from modelport.sdk.waiting import ReadyWatch, Verdict
from tests.unit.sdk.live_server import WEB_SPEC, LiveServer

POLL = 0.01


def bring_up(server: LiveServer, name: str) -> Callable[[EndpointPublic], None]:
    """An on_progress callback that advances one replica a step per poll until READY."""
    steps = [ReplicaState.STARTING, ReplicaState.READY]
    replica: list[Replica] = []

    def step(endpoint: EndpointPublic) -> None:
        if not replica:
            replica.append(server.add_replica(name))
        elif steps:
            replica[0] = server.move(replica[0], steps.pop(0))

    return step


def test_returns_when_ready(server: LiveServer) -> None:
    client = Client(server.url, server.admin_token)
    client.create_endpoint("web", WEB_SPEC)
    seen: list[EndpointPhase] = []
    advance = bring_up(server, "web")

    def on_progress(endpoint: EndpointPublic) -> None:
        seen.append(endpoint.phase)
        advance(endpoint)

    ready = client.wait_ready("web", timeout=30, poll=POLL, on_progress=on_progress)
    assert ready.phase is EndpointPhase.READY
    assert ready.replicas.ready == 1
    assert seen[0] is EndpointPhase.DEPLOYING
    assert seen[-1] is EndpointPhase.READY


def test_failed_endpoint_raises_with_its_events(server: LiveServer) -> None:
    client = Client(server.url, server.admin_token)
    client.create_endpoint("web", WEB_SPEC)
    replica = server.add_replica("web")
    server.move(replica, ReplicaState.FAILED)
    server.event("web", "engine exited with code 1", EventLevel.ERROR)
    with pytest.raises(EndpointFailedError) as caught:
        client.wait_ready("web", timeout=30, poll=POLL)
    assert caught.value.endpoint.phase is EndpointPhase.FAILED
    assert caught.value.events[-1].message == "engine exited with code 1"
    assert "engine exited with code 1" in str(caught.value)


def test_timeout_raises_with_the_last_state(server: LiveServer) -> None:
    client = Client(server.url, server.admin_token)
    client.create_endpoint("web", WEB_SPEC)
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait_ready("web", timeout=0.05, poll=POLL)
    assert caught.value.endpoint.phase is EndpointPhase.DEPLOYING
    assert [e.reason for e in caught.value.events] == ["EndpointCreated"]
    assert isinstance(caught.value, TimeoutError)


def test_a_stopped_endpoint_will_not_become_ready(server: LiveServer) -> None:
    client = Client(server.url, server.admin_token)
    client.create_endpoint("web", WEB_SPEC)
    client.stop_endpoint("web")
    with pytest.raises(EndpointStoppedError) as caught:
        client.wait_ready("web", timeout=30, poll=POLL)
    assert "modelport start web" in str(caught.value)


async def test_async_client_waits_until_ready(server: LiveServer) -> None:
    async with AsyncClient(server.url, server.admin_token) as client:
        created = await client.create_endpoint("web", WEB_SPEC)
        assert created.api_key
        ready = await client.wait_ready(
            "web", timeout=30, poll=POLL, on_progress=bring_up(server, "web")
        )
    assert ready.phase is EndpointPhase.READY


def test_an_idle_endpoint_counts_as_ready(server: LiveServer) -> None:
    """Scaled to zero, an endpoint still serves (the gateway holds the next request while a
    replica starts): waiting for it must not run into the timeout."""
    created = Client(server.url, server.admin_token).create_endpoint("idle", WEB_SPEC)
    watch = ReadyWatch(timeout=60)
    for phase, verdict in [
        (EndpointPhase.IDLE, Verdict.READY),
        (EndpointPhase.READY, Verdict.READY),
        (EndpointPhase.DEPLOYING, Verdict.WAITING),
    ]:
        assert watch.verdict(created.model_copy(update={"phase": phase})) is verdict
