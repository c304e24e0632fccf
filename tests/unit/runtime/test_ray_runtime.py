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
        self.groups: dict[str, tuple[list[dict[str, float]], str]] = {}
        self.running: set[str] = set()  # actors Ray has scheduled (the others wait)
        self.started: list[tuple[str, list[str]]] = []  # (actor, argv) per start call
        self.mute: set[str] = set()  # actors that answer nothing in time

    def connect(self) -> None:
        return None

    def nodes(self) -> list[RayNode]:
        return list(self.node_list)

    def create(self, name: str, actor_class: type, ask: ActorAsk, *args: Any) -> None:
        assert ask.group is None or ask.group in self.groups
        self.actors[name] = ask

    def create_group(self, name: str, bundles: list[dict[str, float]], strategy: str) -> None:
        self.groups[name] = (bundles, strategy)

    def remove_group(self, name: str) -> None:
        self.groups.pop(name, None)

    def named_actors(self) -> list[str]:
        return list(self.actors)

    def group_names(self) -> set[str]:
        return set(self.groups)

    def unscheduled(self) -> set[str]:
        return set(self.actors) - self.running

    def kill(self, name: str) -> None:
        if self.actors.pop(name, None) is not None:
            self.killed.append(name)

    async def call(self, name: str, method: str, *args: Any, timeout: float) -> Any:
        if self.answer is not None:
            raise self.answer
        if name in self.mute:
            raise ActorUnreachable(f"{name} is slow")
        if method == "slot":
            if not self.schedulable:
                raise ActorUnreachable("pending")
            return Slot(host="10.0.0.7", port=9000, node="id-w2")
        if method == "start":
            plan: LaunchPlan = args[1]
            self.started.append((name, plan.argv))
            return ReplicaHandle(backend="local", host=plan.host, port=plan.port, pid=42)
        if method == "started":
            return any(actor == name for actor, _ in self.started)
        if method == "status":
            return ProcessStatus(state=ProcessState.RUNNING)
        if method == "stop":
            return None
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


async def test_a_multi_gpu_replica_is_one_placement_group_on_one_node() -> None:
    calls = FakeCalls([gpu_node("w1", 4)])
    runtime = RayRuntime(calls, "/tmp/nodes")
    await runtime.place("ep-r1-g1", Resources(cpu=2, gpu_count=2, gpu_type="T4"))
    bundle = {"CPU": 2.0, "memory": float(GIB), "GPU": 2.0, "accelerator_type:T4": 0.001}
    assert calls.groups == {"ep-r1-g1": ([bundle], "STRICT_PACK")}
    assert calls.actors["ep-r1-g1"].group == "ep-r1-g1"  # the actor takes the whole bundle


async def test_a_replica_across_nodes_is_a_group_with_an_actor_per_node() -> None:
    calls = FakeCalls([gpu_node("w1", 2), gpu_node("w2", 2), gpu_node("w3", 2)])
    runtime = RayRuntime(calls, "/tmp/nodes")
    needs = Resources(cpu=4, memory_mb=4096, gpu_count=4, gpu_type="T4", nodes=2)
    slot = await runtime.place("ep-r1-g1", needs)
    share = {"CPU": 2.0, "memory": 2.0 * GIB, "GPU": 2.0, "accelerator_type:T4": 0.001}
    assert calls.groups == {"ep-r1-g1": ([share, share], "STRICT_SPREAD")}
    assert {n: (a.group, a.bundle) for n, a in calls.actors.items()} == {
        "ep-r1-g1": ("ep-r1-g1", 0),
        "ep-r1-g1#1": ("ep-r1-g1", 1),
    }
    launch = plan(slot).model_copy(update={"node_argv": [["engine", "--node-rank", "1"]]})
    handle = await runtime.start("ep-r1-g1", launch)
    assert calls.started == [
        ("ep-r1-g1", ["engine"]),
        ("ep-r1-g1#1", ["engine", "--node-rank", "1"]),
    ]
    await runtime.stop(handle, 1.0)
    assert calls.actors == {} and calls.groups == {}  # every node's actor, and the group


async def test_a_replica_across_more_nodes_than_can_hold_a_share_waits() -> None:
    calls = FakeCalls([gpu_node("w1", 2), gpu_node("w2", 1)])
    runtime = RayRuntime(calls, "/tmp/nodes")
    with pytest.raises(TemporaryError) as caught:
        await runtime.place("ep-r1-g1", Resources(gpu_count=4, gpu_type="T4", nodes=2))
    assert (
        caught.value.message == "needs 2 nodes with 2x T4 each; 1 node of 2 could hold a share (w1)"
    )
    assert calls.actors == {} and calls.groups == {}


async def test_actors_a_previous_server_left_waiting_are_killed_at_start() -> None:
    calls = FakeCalls([gpu_node("w1", 0)])
    for name in ("gone-r1-g1", "gone-r2-g1", "gone-r2-g1#1", "live-r1-g1"):
        calls.actors[name] = ActorAsk(num_cpus=1, num_gpus=0, memory_bytes=GIB)
    calls.groups["gone-r2-g1"] = ([], "STRICT_SPREAD")
    calls.running = {"live-r1-g1"}
    calls.started.append(("live-r1-g1", ["engine"]))  # a replica's engine runs in it
    runtime = RayRuntime(calls, "/tmp/nodes")
    calls.schedulable = False
    with pytest.raises(ReplicaPreparing):  # this server places one meanwhile: kept
        await runtime.place("new-r1-g1", Resources())
    await runtime._refresh()
    assert set(calls.actors) == {"live-r1-g1", "new-r1-g1"}
    assert calls.groups == {}


async def test_what_a_previous_server_placed_and_never_started_is_removed_at_start() -> None:
    """A server that died while placing can leave a placement group without actors (it died
    between the two calls) or an actor Ray ran that never got start(): both hold the cluster's
    resources for replicas deleted since. An actor running an engine is a replica to adopt."""
    calls = FakeCalls([gpu_node("w1", 4)])
    ask = ActorAsk(num_cpus=1, num_gpus=0, memory_bytes=GIB)
    calls.groups["lone-r1-g1"] = ([{"GPU": 2}], "STRICT_PACK")  # its actors never created
    for name in ("idle-r1-g1", "idle-r1-g1#1", "live-r1-g1", "mute-r1-g1"):
        calls.actors[name] = ask
    calls.groups["idle-r1-g1"] = ([{"GPU": 1}, {"GPU": 1}], "STRICT_SPREAD")
    calls.running = set(calls.actors)  # all scheduled by Ray
    calls.started.append(("live-r1-g1", ["engine"]))  # started: adopted by its replica later
    calls.mute = {"mute-r1-g1"}  # cannot tell: kept
    runtime = RayRuntime(calls, "/tmp/nodes")
    await runtime._refresh()
    assert set(calls.actors) == {"live-r1-g1", "mute-r1-g1"}
    assert calls.groups == {}
    calls.actors["late-r1-g1"] = ask  # swept once, at start only
    calls.running.add("late-r1-g1")
    await runtime._refresh()
    assert "late-r1-g1" in calls.actors
