"""Which Ray node can hold a replica, and the sentence that says why none can. Pure: the nodes
come from runtime/ray_calls.py, the answer goes to runtime/ray.py.

A node's GPU type is the Ray resource `accelerator_type:<type>` it declares (Ray labels
detected GPUs so; test clusters declare it with `--resources`); a GPU node without one has
type "GPU". A spec's `gpu_type` matches a node's type as on one host (domain/gpus.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class ActorAsk:
    """What a replica's actor asks Ray for (the actor's scheduling options)."""

    num_cpus: float
    num_gpus: int
    memory_bytes: int
    resources: Mapping[str, float] = field(default_factory=dict)


def ask_for(needs: Resources, node: RayNode) -> ActorAsk:
    """The actor's options for `needs` on a cluster where `node` can hold it: the GPU type is
    the node's own spelling of it, so Ray places it on a node of that type."""
    resources: dict[str, float] = {}
    kind = node.gpu_type
    if needs.gpu_type is not None and kind is not None and kind != UNTYPED_GPU:
        resources[ACCELERATOR_PREFIX + kind] = ACCELERATOR_SHARE
    return ActorAsk(
        num_cpus=needs.cpu,
        num_gpus=needs.gpu_count,
        memory_bytes=needs.memory_mb * _MIB,
        resources=resources,
    )


def first_fit(nodes: Sequence[RayNode], needs: Resources) -> RayNode | None:
    """A node that can hold `needs` now, the one with most free CPU first (Ray still decides)."""
    fitting = [n for n in nodes if n.holds(needs, now=True)]
    return max(fitting, key=lambda n: (n.free or n.total).get("CPU", 0), default=None)


def shortfall(nodes: Sequence[RayNode], needs: Resources) -> str:
    """Why no node can hold `needs`, e.g. "needs 2x H100-80GB; the cluster has 1x H100-80GB
    (node w1)" or "needs 1 CPU and 1024 MiB; every node that could
    hold it is busy (1 of 3 nodes)"."""
    want = _want(needs)
    alive = [n for n in nodes if n.alive]
    if not alive:
        return f"{want}; the cluster has no live node"
    could = [n for n in alive if n.holds(needs, now=False)]
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
    if needs.gpu_count > 0:
        return f"needs {needs.gpu_count}x {needs.gpu_type or 'GPU'}"
    return f"needs {needs.cpu:g} CPU and {needs.memory_mb} MiB"


def _nodes(nodes: Sequence[RayNode]) -> str:
    return f"{len(nodes)} node" + ("" if len(nodes) == 1 else "s")
