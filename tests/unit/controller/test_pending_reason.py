"""A PENDING replica whose reason changes (capacity it lacks, a deferred launch) is updated in
place by one compare-and-set: it never passes through FAILED, and one event says so."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from modelport.controller.loop import Controller
from modelport.domain.decisions import ReplicaReason
from modelport.domain.errors import TemporaryError
from modelport.domain.states import ReplicaState
from modelport.store import make_engine
from modelport.store.repositories import SqlStore
from tests.unit.controller.conftest import World


def set_columns(sql: str) -> set[str]:
    """The columns an UPDATE statement sets."""
    assignments = sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
    return {a.split("=", 1)[0].strip() for a in assignments.split(",")}


class ReplicaWrites:
    """The columns set by each UPDATE of the replicas table, as the SQL on the wire says."""

    def __init__(self, engine: sa.Engine) -> None:
        self.seen: list[set[str]] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: object, cursor: object, sql: str, *_: object) -> None:
        flat = " ".join(sql.split())
        if flat.startswith("UPDATE replicas SET"):
            self.seen.append(set_columns(flat))


def recording_controller(world: World, tmp_path: Path) -> tuple[Controller, ReplicaWrites]:
    engine = make_engine(f"sqlite:///{tmp_path / 'modelport.db'}")
    writes = ReplicaWrites(engine)
    store = SqlStore(engine, world.clock)
    controller = Controller(
        store,
        world.runtime,
        world.box,
        world.clock,
        world.settings,
        holder_id="test",
        adapters=world.adapter,
    )
    return controller, writes


def events_of(world: World, endpoint_id: int, reason: str) -> list[str]:
    return [e.message for e in world.store.list_events(endpoint_id) if e.reason == reason]


async def test_a_changed_capacity_shortfall_is_one_write_and_never_failed(
    world: World, tmp_path: Path
) -> None:
    world.runtime.set_gpus({"A100": 1})
    ep = world.create("h100", replicas=1, resources={"gpu_count": 1, "gpu_type": "H100-80GB"})
    ctl, writes = recording_controller(world, tmp_path)
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
    # One in-place write per change of reason, none of which moves the state (never FAILED).
    assert writes.seen == [{"reason", "detail", "state_changed_at", "next_attempt_at"}] * 2
    assert len(events_of(world, ep.id, "InsufficientCapacity")) == 2
    assert events_of(world, ep.id, "RestartScheduled") == []


async def test_a_deferred_launch_stays_pending_in_one_write(world: World, tmp_path: Path) -> None:
    world.runtime.start_error = TemporaryError("ports exhausted", delay=5)
    ep = world.create(replicas=1)
    ctl, writes = recording_controller(world, tmp_path)
    await world.ticks(ctl, 2)

    [replica] = world.replicas(ep)
    assert replica.state is ReplicaState.PENDING and replica.restart_count == 0
    assert (replica.reason, replica.detail) == (ReplicaReason.LAUNCH_DEFERRED, "ports exhausted")
    assert replica.next_attempt_at == replica.state_changed_at + timedelta(seconds=5)
    assert writes.seen == [{"reason", "detail", "state_changed_at", "next_attempt_at"}]
    assert len(events_of(world, ep.id, "LaunchDeferred")) == 1
