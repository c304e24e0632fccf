"""A PENDING replica whose reason changes (capacity it lacks, a deferred launch) is updated in
place by one compare-and-set: it never passes through FAILED, and one event says so."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from modelport.clock import Clock
from modelport.controller.loop import Controller
from modelport.domain.decisions import ReplicaReason
from modelport.domain.errors import TemporaryError
from modelport.domain.records import LeaseFence, Replica, ReplicaHandle
from modelport.domain.states import ReplicaState
from modelport.store import make_engine
from modelport.store.repositories import SqlStore
from tests.unit.controller.conftest import World


@dataclass(frozen=True)
class Write:
    method: str
    replica_id: int
    state: ReplicaState  # the state the write left the replica in


class RecordingStore(SqlStore):
    """The real store on the world's database, remembering each replica write."""

    def __init__(self, url: str, clock: Clock) -> None:
        super().__init__(make_engine(url), clock)
        self.writes: list[Write] = []

    def transition_replica(
        self,
        replica_id: int,
        expected: ReplicaState,
        new: ReplicaState,
        *,
        now: datetime,
        reason: ReplicaReason | None = None,
        detail: str = "",
        handle: ReplicaHandle | None = None,
        next_attempt_at: datetime | None = None,
        count_restart: bool = False,
        fence: LeaseFence | None = None,
    ) -> Replica:
        moved = super().transition_replica(
            replica_id,
            expected,
            new,
            now=now,
            reason=reason,
            detail=detail,
            handle=handle,
            next_attempt_at=next_attempt_at,
            count_restart=count_restart,
            fence=fence,
        )
        self.writes.append(Write("transition_replica", replica_id, moved.state))
        return moved

    def set_pending_reason(
        self,
        replica_id: int,
        *,
        reason: ReplicaReason,
        detail: str,
        now: datetime,
        next_attempt_at: datetime,
        fence: LeaseFence | None = None,
    ) -> Replica:
        held = super().set_pending_reason(
            replica_id,
            reason=reason,
            detail=detail,
            now=now,
            next_attempt_at=next_attempt_at,
            fence=fence,
        )
        self.writes.append(Write("set_pending_reason", replica_id, held.state))
        return held

    def of(self, replica_id: int) -> list[Write]:
        return [w for w in self.writes if w.replica_id == replica_id]


def recording_controller(world: World, tmp_path: Path) -> tuple[Controller, RecordingStore]:
    store = RecordingStore(f"sqlite:///{tmp_path / 'modelport.db'}", world.clock)
    controller = Controller(
        store,
        world.runtime,
        world.box,
        world.clock,
        world.settings,
        holder_id="test",
        adapters=world.adapter,
    )
    return controller, store


def events_of(world: World, endpoint_id: int, reason: str) -> list[str]:
    return [e.message for e in world.store.list_events(endpoint_id) if e.reason == reason]


async def test_a_changed_capacity_shortfall_is_one_write_and_never_failed(
    world: World, tmp_path: Path
) -> None:
    world.runtime.set_gpus({"A100": 1})
    ep = world.create("h100", replicas=1, resources={"gpu_count": 1, "gpu_type": "H100-80GB"})
    ctl, store = recording_controller(world, tmp_path)
    await world.ticks(ctl, 3)
    [replica] = world.replicas(ep)
    assert replica.reason is ReplicaReason.INSUFFICIENT_CAPACITY
    assert replica.detail == "needs 1x H100-80GB; this host has none (it has 1x A100)"
    assert replica.state_reason == f"InsufficientCapacity: {replica.detail}"

    world.runtime.set_gpus({"A100": 1, "L4": 2})  # still no H100: the detail changes
    await world.ticks(ctl, 3)

    [held] = world.replicas(ep)
    assert held.state is ReplicaState.PENDING and held.restart_count == 0
    assert held.reason is ReplicaReason.INSUFFICIENT_CAPACITY
    assert held.detail == "needs 1x H100-80GB; this host has none (it has 1x A100, 2x L4)"
    # One in-place write per change of reason, nothing else, and never FAILED.
    assert store.of(held.id) == [Write("set_pending_reason", held.id, ReplicaState.PENDING)] * 2
    assert len(events_of(world, ep.id, "InsufficientCapacity")) == 2
    assert events_of(world, ep.id, "RestartScheduled") == []


async def test_a_deferred_launch_stays_pending_in_one_write(world: World, tmp_path: Path) -> None:
    world.runtime.start_error = TemporaryError("ports exhausted", delay=5)
    ep = world.create(replicas=1)
    ctl, store = recording_controller(world, tmp_path)
    await world.ticks(ctl, 2)

    [replica] = world.replicas(ep)
    assert replica.state is ReplicaState.PENDING and replica.restart_count == 0
    assert (replica.reason, replica.detail) == (ReplicaReason.LAUNCH_DEFERRED, "ports exhausted")
    assert replica.next_attempt_at == replica.state_changed_at + timedelta(seconds=5)
    assert store.of(replica.id) == [Write("set_pending_reason", replica.id, ReplicaState.PENDING)]
    assert len(events_of(world, ep.id, "LaunchDeferred")) == 1
