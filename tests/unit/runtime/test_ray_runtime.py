"""RayRuntime over a fake of our own Ray seam (runtime/ray_calls.py RayCalls): what place()
says when no node can hold a replica, what a handle carries, and how a dead actor or a silent
node reads. The real cluster runs in tests/integration/ray/."""

from __future__ import annotations

from typing import Any

import pytest

from modelport.domain.errors import ReplicaPreparing, TemporaryError
from modelport.domain.launch import LaunchPlan, Slot
from modelport.domain.records import ReplicaHandle
from modelport.domain.specs import ProbeSpec, Resources
from modelport.runtime.base import ProcessState, ProcessStatus
from modelport.runtime.ray import RayRuntime
from modelport.runtime.ray_calls import ActorGone, ActorUnreachable, RayCalls
from modelport.runtime.ray_fit import ActorAsk, RayNode

GIB = 2**30


class FakeCalls(RayCalls):
    """Actors are names with a node; `answer` decides what each call does."""

    def __init__(self, nodes: list[RayNode]) -> None:
        super().__init__("fake:1", "ns")
        self.node_list = nodes
        self.actors: dict[str, ActorAsk] = {}
        self.killed: list[str] = []
        self.answer: Exception | None = None  # raised by every call when set
        self.schedulable = True

    def connect(self) -> None:
        return None

    def nodes(self) -> list[RayNode]:
        return list(self.node_list)

    def create(self, name: str, actor_class: type, ask: ActorAsk, *args: Any) -> None:
        self.actors[name] = ask

    def kill(self, name: str) -> None:
        if self.actors.pop(name, None) is not None:
            self.killed.append(name)

    async def call(self, name: str, method: str, *args: Any, timeout: float) -> Any:
        if self.answer is not None:
            raise self.answer
        if method == "slot":
            if not self.schedulable:
                raise ActorUnreachable("pending")
            return Slot(host="10.0.0.7", port=9000, node="id-w2")
        if method == "start":
            plan: LaunchPlan = args[1]
            return ReplicaHandle(backend="local", host=plan.host, port=plan.port, pid=42)
        if method == "status":
            return ProcessStatus(state=ProcessState.RUNNING)
        raise AssertionError(method)


def gpu_node(name: str, gpus: int, alive: bool = True) -> RayNode:
    total = {"CPU": 4, "memory": 16 * GIB, "GPU": gpus, "accelerator_type:T4": 1}
    return RayNode(f"id-{name}", name, "10.0.0.7", alive, total)


def plan(slot: Slot) -> LaunchPlan:
    return LaunchPlan(
        argv=["engine"], host=slot.host, port=slot.port, readiness=ProbeSpec(), liveness=ProbeSpec()
    )


async def test_place_and_start_give_a_handle_that_names_node_and_actor() -> None:
    calls = FakeCalls([gpu_node("w1", 1), gpu_node("w2", 2)])
    runtime = RayRuntime(calls, "/tmp/nodes")
    slot = await runtime.place("ep-r1-g1", Resources(gpu_count=2, gpu_type="T4"))
    assert slot == Slot(host="10.0.0.7", port=9000, node="w2")
    assert calls.actors["ep-r1-g1"].resources == {"accelerator_type:T4": 0.001}
    handle = await runtime.start("ep-r1-g1", plan(slot))
    assert (handle.backend, handle.node, handle.runtime_ref) == ("ray", "w2", "ep-r1-g1")
    assert handle.container_id is None  # not a container
    assert (await runtime.status(handle)).state is ProcessState.RUNNING


async def test_a_replica_no_node_can_hold_waits_with_what_the_cluster_has() -> None:
    calls = FakeCalls([gpu_node("w1", 1)])
    runtime = RayRuntime(calls, "/tmp/nodes")
    with pytest.raises(TemporaryError) as caught:
        await runtime.place("ep-r1-g1", Resources(gpu_count=2, gpu_type="T4"))
    assert caught.value.message == "needs 2x T4; the cluster has 1x T4 (node w1)"
    assert calls.actors == {}  # nothing was asked of Ray


async def test_place_waits_for_ray_in_the_background_then_gives_the_actor_back() -> None:
    calls = FakeCalls([gpu_node("w1", 2)])
    calls.schedulable = False
    now = [0.0]
    runtime = RayRuntime(calls, "/tmp/nodes", place_seconds=30, monotonic=lambda: now[0])
    with pytest.raises(ReplicaPreparing) as first:
        await runtime.place("ep-r1-g1", Resources())
    assert (
        first.value.began and "waiting for the Ray cluster to run its actor" in first.value.message
    )
    now[0] = 10.0
    with pytest.raises(ReplicaPreparing) as again:  # the same actor, asked again: no new event
        await runtime.place("ep-r1-g1", Resources())
    assert not again.value.began and list(calls.actors) == ["ep-r1-g1"]
    now[0] = 31.0
    with pytest.raises(TemporaryError, match=r"did not run it in 30s"):
        await runtime.place("ep-r1-g1", Resources())
    assert calls.killed == ["ep-r1-g1"] and calls.actors == {}


async def test_a_dead_actor_or_a_dead_silent_node_is_missing_a_slow_live_one_running() -> None:
    calls = FakeCalls([gpu_node("w1", 0), gpu_node("w2", 0, alive=False)])
    runtime = RayRuntime(calls, "/tmp/nodes")
    on = {  # w2's handle is as older servers wrote them: the actor's name in container_id
        "w1": ReplicaHandle(backend="ray", host="h", port=1, node="w1", runtime_ref="a"),
        "w2": ReplicaHandle(backend="ray", host="h", port=1, node="w2", container_id="a"),
    }
    calls.answer = ActorGone("dead")
    assert (await runtime.status(on["w1"])).state is ProcessState.MISSING
    calls.answer = ActorUnreachable("no answer")
    assert (await runtime.status(on["w1"])).state is ProcessState.RUNNING
    assert (await runtime.status(on["w2"])).state is ProcessState.MISSING
    assert await runtime.exec_probe(on["w1"], ["true"], 1.0) is False
    assert "does not answer" in await runtime.read_logs(on["w1"])
    assert await runtime.cpu_seconds([on["w1"]]) == [None]
