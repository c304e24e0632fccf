"""Replica-set shape: how many replicas to create, and which to drain or stop, per generation.

A rolling update has a surge of one and no unavailability: at most N + 1 replicas serve or
start, and an old READY replica is drained only while N others stay READY. A replica a user
asked to restart is replaced the same way, as if it ran an older generation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from modelport.domain.decisions import CreateReplica, Decision, DrainReplica, StopReplica
from modelport.domain.records import Endpoint, Replica
from modelport.domain.states import DesiredState, ReplicaState

# Which replica to give up first when there are too many: the least useful, newest first.
_USEFULNESS = {
    ReplicaState.FAILED: 0,
    ReplicaState.PENDING: 1,
    ReplicaState.STARTING: 2,
    ReplicaState.READY: 3,
}


@dataclass
class Shape:
    decisions: list[Decision] = field(default_factory=list)
    retiring: set[int] = field(default_factory=set)  # replicas drained or stopped this tick

    def retire(self, replica: Replica, message: str) -> None:
        self.retiring.add(replica.id)
        if replica.state is ReplicaState.READY:
            self.decisions.append(DrainReplica(replica.id, message))
        else:
            self.decisions.append(StopReplica(replica.id, message))


def shape(endpoint: Endpoint, replicas: Sequence[Replica]) -> Shape:
    """Create / drain / stop decisions for the replica set. DRAINING replicas are not touched."""
    active = [r for r in replicas if r.state in _USEFULNESS]
    if endpoint.desired_state is not DesiredState.RUNNING:
        return _tear_down(endpoint, active)
    wanted = endpoint.wanted_replicas
    out = Shape()
    current = [r for r in active if not _outdated(endpoint, r)]
    older = [r for r in active if _outdated(endpoint, r)]

    for replica in older:
        if replica.state is not ReplicaState.READY:
            out.retire(replica, _replaced(endpoint, replica))
    old_ready = sorted(
        (r for r in older if r.state is ReplicaState.READY), key=lambda r: (r.generation, r.id)
    )

    if len(current) > wanted:
        by_usefulness = sorted(current, key=lambda r: (_USEFULNESS[r.state], -r.id))
        surplus = len(current) - wanted
        for replica in by_usefulness[:surplus]:
            out.retire(replica, f"scaling down to {wanted}")
        current = by_usefulness[surplus:]

    # Drain old READY replicas only while `wanted` others stay READY.
    cur_ready = sum(r.state is ReplicaState.READY for r in current)
    drains = max(0, min(len(old_ready), cur_ready + len(old_ready) - wanted))
    for replica in old_ready[:drains]:
        out.retire(replica, _replaced(endpoint, replica))
    serving_old = len(old_ready) - drains

    room = wanted - len(current)
    if serving_old:
        room = min(room, wanted + 1 - len(current) - serving_old)  # surge of one
    rolling = any(r.generation != endpoint.template_generation for r in replicas) and not current
    for i in range(max(0, room)):
        out.decisions.append(
            CreateReplica(
                endpoint.id, endpoint.template_generation, starts_rollout=rolling and i == 0
            )
        )
    return out


def _outdated(endpoint: Endpoint, replica: Replica) -> bool:
    """To be replaced: an older generation, or a restart was asked for."""
    return (
        replica.generation != endpoint.template_generation
        or replica.restart_requested_at is not None
    )


def _replaced(endpoint: Endpoint, replica: Replica) -> str:
    if replica.generation != endpoint.template_generation:
        return f"replaced by generation {endpoint.template_generation}"
    return "restart requested: replaced by a fresh replica"


def _tear_down(endpoint: Endpoint, active: Sequence[Replica]) -> Shape:
    out = Shape()
    verb = "deleting" if endpoint.desired_state is DesiredState.DELETED else "stopping"
    for replica in active:
        out.retire(replica, f"endpoint {verb}")
    return out
