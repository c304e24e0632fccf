"""How an engine spans several nodes (resources.nodes > 1): one engine process per node, the
first one serving, all meeting at the first node's rendezvous port. Data per engine, read by
engines/common.py's plan(); a runtime that spans nodes (Ray) runs each node's command there.

vLLM (multiprocessing across nodes: docs.vllm.ai "Running vLLM with MultiProcessing"): tensor
parallel within a node, pipeline parallel across nodes, `--nnodes --node-rank --master-addr
--master-port`, `--headless` on the nodes that do not serve. Its Ray executor is not used: it
adopts a placement group only inside a Ray actor's own process, and would otherwise reserve
the GPUs our group already holds. SGLang (docs.sglang.io "Multi-Node Deployment"): `--tp-size`
counts every GPU, `--nnodes --node-rank --dist-init-addr host:port`.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelport.domain.launch import LaunchContext
from modelport.domain.specs import EndpointSpec

# The engines meet on the first node at the serving port + 1 (a runtime that places a replica
# across nodes keeps it free).
RENDEZVOUS_OFFSET = 1


@dataclass(frozen=True, kw_only=True)
class NodeFlags:
    """An engine's multi-node flags, spelled without dashes."""

    count: str  # how many nodes
    rank: str  # this node's rank; 0 serves
    address: str  # the first node's address...
    port: str | None  # ...and rendezvous port; None: `address` takes host:port
    tp_per_node: bool  # tensor parallel counts one node's GPUs (else every GPU)
    pipeline: str | None = None  # pipeline parallel degree: the number of nodes
    every: tuple[str, ...] = ()  # on every node
    workers: tuple[str, ...] = ()  # on every node but the first


def tensor_parallel(flags: NodeFlags, spec: EndpointSpec) -> int:
    gpus, nodes = spec.resources.gpu_count, spec.resources.nodes
    return gpus // nodes if flags.tp_per_node else gpus


def node_ranks(flags: NodeFlags, spec: EndpointSpec, ctx: LaunchContext) -> list[list[str]]:
    """The flags of each node, rank 0 first."""
    nodes = spec.resources.nodes
    port = ctx.port + RENDEZVOUS_OFFSET
    meet = [f"--{flags.address}", ctx.host, f"--{flags.port}", str(port)]
    if flags.port is None:
        meet = [f"--{flags.address}", f"{ctx.host}:{port}"]
    pipeline = [f"--{flags.pipeline}", str(nodes)] if flags.pipeline else []
    common = [*pipeline, *flags.every, f"--{flags.count}", str(nodes), *meet]
    return [
        [*common, f"--{flags.rank}", str(rank), *(flags.workers if rank else ())]
        for rank in range(nodes)
    ]
