"""The Ray actors (and placement group) of one replica: created together, removed together.

A replica is one actor per node it spans, named after the replica's key: the first (rank 0,
which serves) by the key itself, the others `<key>#<rank>`. A replica with several GPUs, or
across nodes, first gets a detached placement group of the same name (one bundle per node:
all its GPUs on one node, or one node's share on each of several distinct nodes) and its
actors take one bundle each, so Ray reserves the whole replica at once or not at all.
Blocking Ray calls: runtime/ray.py runs these in a thread.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from modelport.domain.specs import Resources
from modelport.runtime.ray_actor import ReplicaActor
from modelport.runtime.ray_calls import RayCalls
from modelport.runtime.ray_fit import RayNode, ask_for, strategy_for

log = logging.getLogger("modelport.runtime.ray")

RANK_MARK = "#"  # never in an endpoint's name, so never in a replica key


def rank_name(replica_key: str, rank: int) -> str:
    return replica_key if rank == 0 else f"{replica_key}{RANK_MARK}{rank}"


def replica_of(actor_name: str) -> str:
    return actor_name.split(RANK_MARK, 1)[0]


class ReplicaActors:
    def __init__(self, calls: RayCalls, node_dir: str) -> None:
        self._calls = calls
        self._node_dir = node_dir

    def create(self, replica_key: str, needs: Resources, node: RayNode) -> None:
        """The replica's placement group if it needs one, and an actor for each node."""
        ask = ask_for(needs, node)
        strategy = strategy_for(needs)
        if strategy is not None:
            bundles = [ask.as_bundle() for _ in range(needs.nodes)]
            self._calls.create_group(replica_key, bundles, strategy.value)
            ask = dataclasses.replace(ask, group=replica_key)
        for rank in range(needs.nodes):
            placed = dataclasses.replace(ask, bundle=rank)
            self._calls.create(rank_name(replica_key, rank), ReplicaActor, placed, self._node_dir)

    def remove(self, replica_key: str) -> None:
        """Kill every actor of the replica and remove its placement group (if any)."""
        ranks = [n for n in self._calls.named_actors() if replica_of(n) == replica_key]
        for name in {replica_key, *ranks}:
            self._calls.kill(name)
        self._calls.remove_group(replica_key)

    def left_behind(self, keep: set[str]) -> LeftBehind:
        """What a server that stopped while placing replicas may have left, other than `keep`
        (replicas this server is placing): see LeftBehind."""
        names = set(self._calls.named_actors())
        waiting = names & self._calls.unscheduled()
        replicas = {replica_of(n) for n in names}
        return LeftBehind(
            waiting={replica_of(n) for n in waiting} - keep,
            scheduled={n for n in names - waiting if n == replica_of(n)} - keep,
            lone_groups=self._calls.group_names() - replicas - keep,
        )


@dataclass(frozen=True, slots=True)
class LeftBehind:
    """Replicas (keys) of a previous server's placements, found at start."""

    waiting: set[str]  # an actor Ray has not scheduled: never ran, removable at once
    scheduled: set[str]  # the first actor runs: removable only if it never started an engine
    lone_groups: set[str]  # a placement group without any actor (created, then the server died)
