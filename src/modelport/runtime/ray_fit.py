"""Which Ray node can hold a replica, and the sentence that says why none can. Pure: the nodes
come from runtime/ray_calls.py, the answer goes to runtime/ray.py.

A node's GPU type is the Ray resource `accelerator_type:<type>` it declares (Ray labels
detected GPUs so; test clusters declare it with `--resources`); a GPU node without one has
type "GPU". A spec's `gpu_type` matches a node's type as on one host (domain/gpus.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from modelport.domain.gpus import gpu_type_matches
from modelport.domain.specs import Resources

ACCELERATOR_PREFIX = "accelerator_type:"
UNTYPED_GPU = "GPU"
# What an actor asks of its node's accelerator resource: a share, as Ray's own
# `accelerator_type=` option does, so any number of replicas fit beside one another.
ACCELERATOR_SHARE = 0.001
_MIB = 2**20


@dataclass(frozen=True)
class RayNode:
    """One node of the cluster as Ray reports it: totals, and what is free now when known."""

    node_id: str
    name: str
    address: str  # the node's private IP: its replicas' engines listen there
    alive: bool
    total: Mapping[str, float] = field(default_factory=dict)
    free: Mapping[str, float] | None = None  # None: not known (Ray Client); assume total

    @property
    def gpu_type(self) -> str | None:
        if self.total.get("GPU", 0) <= 0:
            return None
        types = [
            k.removeprefix(ACCELERATOR_PREFIX)
            for k in self.total
            if k.startswith(ACCELERATOR_PREFIX)
        ]
        return types[0] if types else UNTYPED_GPU

    def holds(self, needs: Resources, now: bool) -> bool:
        """True when this node has (now: has free) what one replica needs."""
        counts = self.free if now and self.free is not None else self.total
        if not self.alive or counts.get("CPU", 0) < needs.cpu:
            return False
        if counts.get("memory", 0) < needs.memory_mb * _MIB:
            return False
        if needs.gpu_count == 0:
            return True
        kind = self.gpu_type
        wanted = needs.gpu_type
        typed = kind is not None and (wanted is None or gpu_type_matches(wanted, kind))
        return typed and counts.get("GPU", 0) >= needs.gpu_count


class GroupStrategy(StrEnum):
    """How a replica's placement group lays its bundles (Ray's strategy names)."""

    ONE_NODE = "STRICT_PACK"  # every GPU of the replica on one node
    NODE_EACH = "STRICT_SPREAD"  # one bundle per node: a replica across nodes


@dataclass(frozen=True)
class ActorAsk:
    """What a replica's actor asks Ray for (the actor's scheduling options); in a placement
    group (`group`, the replica's key) the actor takes the whole of bundle `bundle`."""

    num_cpus: float
    num_gpus: int
    memory_bytes: int
    resources: Mapping[str, float] = field(default_factory=dict)
    group: str | None = None
    bundle: int = 0

    def as_bundle(self) -> dict[str, float]:
        bundle = {"CPU": self.num_cpus, "memory": float(self.memory_bytes), **self.resources}
        return bundle | ({"GPU": float(self.num_gpus)} if self.num_gpus else {})


def per_node(needs: Resources) -> Resources:
    """One node's share of a replica across `needs.nodes` nodes (all of it on one node)."""
    n = needs.nodes
    if n == 1:
        return needs
    share = {"cpu": needs.cpu / n, "memory_mb": needs.memory_mb // n, "nodes": 1}
    return needs.model_copy(update={**share, "gpu_count": needs.gpu_count // n})


def strategy_for(needs: Resources) -> GroupStrategy | None:
    """A placement group for a replica across nodes (one bundle each) or with several GPUs
    (one bundle, all on one node); None: a plain actor asks for what it needs."""
    if needs.nodes > 1:
        return GroupStrategy.NODE_EACH
    return GroupStrategy.ONE_NODE if needs.gpu_count > 1 else None


def ask_for(needs: Resources, node: RayNode) -> ActorAsk:
    """The actor's options for one node's share of `needs` on a cluster where `node` can hold
    it: the GPU type is the node's own spelling of it, so Ray places it on a node of that
    type."""
    share = per_node(needs)
    resources: dict[str, float] = {}
    kind = node.gpu_type
    if needs.gpu_type is not None and kind is not None and kind != UNTYPED_GPU:
        resources[ACCELERATOR_PREFIX + kind] = ACCELERATOR_SHARE
    return ActorAsk(
        num_cpus=share.cpu,
        num_gpus=share.gpu_count,
        memory_bytes=share.memory_mb * _MIB,
        resources=resources,
    )


def first_fit(nodes: Sequence[RayNode], needs: Resources) -> RayNode | None:
    """A node that can hold (its share of) `needs` now, the one with most free CPU first (Ray
    still decides); None also when fewer such nodes than the replica spans."""
    share = per_node(needs)
    fitting = [n for n in nodes if n.holds(share, now=True)]
    if len(fitting) < needs.nodes:
        return None
    return max(fitting, key=lambda n: (n.free or n.total).get("CPU", 0), default=None)


def shortfall(nodes: Sequence[RayNode], needs: Resources) -> str:
    """Why no node can hold `needs`, e.g. "needs 2x H100-80GB; the cluster has 1x H100-80GB
    (node w1)" or "needs 1 CPU and 1024 MiB; every node that could
    hold it is busy (1 of 3 nodes)"."""
    want = _want(needs)
    alive = [n for n in nodes if n.alive]
    if not alive:
        return f"{want}; the cluster has no live node"
    could = [n for n in alive if n.holds(per_node(needs), now=False)]
    if needs.nodes > 1 and len(could) < needs.nodes:
        names = f" ({', '.join(n.name for n in could)})" if could else ""
        return f"{want}; {_nodes(could)} of {len(alive)} could hold a share{names}"
    if could:
        return f"{want}; every node that could hold it is busy ({len(could)} of {_nodes(alive)})"
    if needs.gpu_count > 0:
        gpus = [
            f"{n.total.get('GPU', 0):g}x {n.gpu_type} (node {n.name})" for n in alive if n.gpu_type
        ]
        return f"{want}; the cluster has " + (", ".join(gpus) if gpus else "no GPUs")
    most = max(alive, key=lambda n: n.total.get("CPU", 0))
    memory = most.total.get("memory", 0) / _MIB
    return (
        f"{want}; no node has that much (the largest: {most.total.get('CPU', 0):g} CPU, "
        f"{memory:.0f} MiB on node {most.name})"
    )


def gpu_inventory(nodes: Sequence[RayNode]) -> dict[str, int]:
    """GPU type -> count over the live nodes (the planner's first, coarse check)."""
    out: dict[str, int] = {}
    for node in nodes:
        kind = node.gpu_type
        if node.alive and kind is not None:
            out[kind] = out.get(kind, 0) + int(node.total.get("GPU", 0))
    return out


def _want(needs: Resources) -> str:
    if needs.nodes > 1:
        share = per_node(needs)
        return f"needs {needs.nodes} nodes with {share.gpu_count}x {needs.gpu_type or 'GPU'} each"
    if needs.gpu_count > 0:
        return f"needs {needs.gpu_count}x {needs.gpu_type or 'GPU'}"
    return f"needs {needs.cpu:g} CPU and {needs.memory_mb} MiB"


def _nodes(nodes: Sequence[RayNode]) -> str:
    return f"{len(nodes)} node" + ("" if len(nodes) == 1 else "s")
