"""gRPC probes (grpc.health.v1 Health/Check) against a real grpc.aio server on loopback, and a
controller whose replicas' readiness and liveness are gRPC health checks."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from modelport.clock import FakeClock
from modelport.controller.probes import ProbeRunner
from modelport.domain.launch import LaunchContext, LaunchPlan
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import EndpointSpec, Framework, ProbeProtocol, ProbeSpec
from modelport.domain.states import ReplicaState
from modelport.runtime.fake import FakeRuntime
from tests.unit.controller.conftest import StubEngine, World
from tests.unit.controller.test_loop import all_ready, states, until

Status = health_pb2.HealthCheckResponse.ServingStatus
SERVING, NOT_SERVING = (
    health_pb2.HealthCheckResponse.SERVING,
    health_pb2.HealthCheckResponse.NOT_SERVING,
)


@dataclass
class HealthServer:
    port: int
    servicer: health.aio.HealthServicer

    async def set(self, service: str, status: Status) -> None:
        await self.servicer.set(service, status)


async def _serve(host: str, servicer: object | None) -> tuple[grpc.aio.Server, int]:
    server = grpc.aio.server()
    if servicer is not None:
        health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port(f"{host}:0")
    await server.start()
    return server, port


@pytest.fixture
async def grpc_health() -> AsyncIterator[HealthServer]:
    """A real gRPC server with the standard health service: the server ("") and `model` serve,
    `sick` does not; tests flip statuses."""
    servicer = health.aio.HealthServicer()
    server, port = await _serve("127.0.0.1", servicer)
    await servicer.set("", SERVING)
    await servicer.set("model", SERVING)
    await servicer.set("sick", NOT_SERVING)
    yield HealthServer(port, servicer)
    await server.stop(None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def handle(port: int, host: str = "127.0.0.1") -> ReplicaHandle:
    return ReplicaHandle(backend="fake", host=host, port=port, pid=1)


def grpc_probe(service: str | None = None, **fields: object) -> ProbeSpec:
    return ProbeSpec.model_validate(
        {"protocol": ProbeProtocol.GRPC, "grpc_service": service, **fields}
    )


@pytest.fixture
async def runner() -> AsyncIterator[ProbeRunner]:
    runner = ProbeRunner(FakeRuntime(), FakeClock())
    yield runner
    await runner.close()


@pytest.mark.parametrize(
    ("service", "ok", "answer"),
    [
        (None, True, "SERVING"),  # the whole server
        ("model", True, "SERVING"),
        ("sick", False, "NOT_SERVING"),
        ("nope", False, "NOT_FOUND (unknown service)"),
    ],
)
async def test_only_a_serving_status_passes(
    grpc_health: HealthServer, runner: ProbeRunner, service: str | None, ok: bool, answer: str
):
    outcome = await runner.check(handle(grpc_health.port), grpc_probe(service))
    named = f"gRPC health {grpc_health.port}" + (f" {service}" if service else "")
    assert (outcome.ok, outcome.detail) == (ok, f"{named}: {answer}")


async def test_a_status_flip_is_seen_by_the_next_check(grpc_health: HealthServer, runner):
    probe = grpc_probe("model")
    assert (await runner.check(handle(grpc_health.port), probe)).ok
    await grpc_health.set("model", NOT_SERVING)
    assert not (await runner.check(handle(grpc_health.port), probe)).ok
    await grpc_health.set("model", SERVING)
    assert (await runner.check(handle(grpc_health.port), probe)).ok


async def test_a_server_without_the_health_service_fails(runner: ProbeRunner):
    server, port = await _serve("127.0.0.1", None)
    try:
        outcome = await runner.check(handle(port), grpc_probe())
    finally:
        await server.stop(None)
    assert not outcome.ok
    assert outcome.detail == f"gRPC health {port}: UNIMPLEMENTED (no health service)"


async def test_nothing_listening_fails_at_once_not_at_the_timeout(runner: ProbeRunner):
    port = free_port()
    # A refused connection is its own answer: the deadline (60 s) is not what ends the check.
    outcome = await runner.check(handle(port), grpc_probe(timeout_seconds=60))
    assert not outcome.ok
    assert outcome.detail == f"gRPC health {port}: UNAVAILABLE (nothing answering gRPC)"


class HangingHealth(health_pb2_grpc.HealthServicer):
    """A health service whose Check never answers (a wedged engine)."""

    async def Check(self, request: object, context: object) -> object:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_health_service_that_never_answers_fails_at_the_timeout(runner: ProbeRunner):
    server, port = await _serve("127.0.0.1", HangingHealth())
    try:
        outcome = await runner.check(handle(port), grpc_probe(timeout_seconds=0.3))
    finally:
        await server.stop(None)
    assert (outcome.ok, outcome.detail) == (False, f"gRPC health {port}: no answer within 0.3s")


async def test_a_port_that_accepts_and_never_speaks_fails_at_the_timeout(runner: ProbeRunner):
    with socket.socket() as silent:  # the kernel's backlog accepts; nothing answers HTTP/2
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        outcome = await runner.check(handle(port), grpc_probe(timeout_seconds=0.3))
    assert (outcome.ok, outcome.detail) == (False, f"gRPC health {port}: no answer within 0.3s")


async def test_the_probe_port_overrides_the_serving_port(grpc_health, runner: ProbeRunner):
    outcome = await runner.check(handle(free_port()), grpc_probe("model", port=grpc_health.port))
    assert outcome.ok, outcome.detail


@pytest.fixture
def ipv6_loopback() -> Iterator[None]:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no IPv6 loopback (::1)")
    yield


@pytest.mark.usefixtures("ipv6_loopback")
async def test_an_ipv6_replica_is_checked(runner: ProbeRunner):
    servicer = health.aio.HealthServicer()
    server, port = await _serve("[::1]", servicer)
    try:
        await servicer.set("", SERVING)
        outcome = await runner.check(handle(port, host="::1"), grpc_probe())
    finally:
        await server.stop(None)
    assert outcome.ok, outcome.detail


@dataclass
class GrpcEngine(StubEngine):
    """Probes readiness on the `ready` service and liveness on `live` of a gRPC server."""

    grpc_port: int = 0

    def plan(self, spec: EndpointSpec, ctx: LaunchContext) -> LaunchPlan:
        probes = {
            "readiness": grpc_probe("ready", port=self.grpc_port, period_seconds=1),
            "liveness": grpc_probe("live", port=self.grpc_port, period_seconds=1),
        }
        return super().plan(spec, ctx).model_copy(update=probes)


async def test_a_replica_is_ready_once_serving_and_restarted_when_its_health_says_not(
    world: World, grpc_health: HealthServer
):
    world.engines[Framework.CUSTOM] = GrpcEngine(grpc_port=grpc_health.port)
    await grpc_health.set("ready", NOT_SERVING)  # still loading
    await grpc_health.set("live", SERVING)
    ep = world.create(replicas=1)
    ctl = world.controller()
    await until(world, ctl, lambda: states(world, ep) == [ReplicaState.STARTING])
    for _ in range(3):  # probed and counted, tick after tick
        await ctl.tick()
        await ctl.wait_for_probes()
        world.clock.advance(1.0)
    assert states(world, ep) == [ReplicaState.STARTING], "not ready while NOT_SERVING"
    await grpc_health.set("ready", SERVING)
    await until(world, ctl, all_ready(world, ep, 1))
    [replica] = world.replicas(ep)
    await grpc_health.set("live", NOT_SERVING)  # wedged: liveness fails 3 times in a row
    await until(world, ctl, lambda: states(world, ep) == [ReplicaState.FAILED], limit=6)
    assert replica.handle in world.runtime.stop_calls
    failed = [e.message for e in world.store.list_events(ep.id) if e.reason == "LivenessFailed"]
    assert failed and f"gRPC health {grpc_health.port} live: NOT_SERVING" in failed[0]
