"""Which Ray node can hold a replica, and what the user reads when none can (runtime/ray_fit.py),
on node lists as Ray reports them."""

from __future__ import annotations

from modelport.domain.specs import Resources
from modelport.runtime.ray_fit import RayNode, ask_for, first_fit, gpu_inventory, shortfall

GIB = 2**30


def node(
    name: str, cpu: float = 2, gpus: int = 0, kind: str | None = None, **free: float
) -> RayNode:
    total = {"CPU": cpu, "memory": 8 * GIB, "GPU": gpus}
    if kind:
        total[f"accelerator_type:{kind}"] = 1
    return RayNode(name, name, "10.0.0.1", True, total, {**total, **free} if free else None)


def test_a_gpu_replica_fits_only_a_node_with_enough_gpus_of_its_type() -> None:
    nodes = [node("a", gpus=1, kind="H100-80GB"), node("b", gpus=2, kind="H100-80GB")]
    needs = Resources(gpu_count=2, gpu_type="H100")
    chosen = first_fit(nodes, needs)
    assert chosen is not None and chosen.name == "b"
    ask = ask_for(needs, chosen)
    assert ask.num_gpus == 2 and ask.resources == {"accelerator_type:H100-80GB": 0.001}
    assert ask.memory_bytes == needs.memory_mb * 2**20


def test_no_node_has_enough_gpus_says_what_each_has() -> None:
    nodes = [node("a", gpus=1, kind="H100-80GB"), node("b", gpus=2, kind="A100")]
    needs = Resources(gpu_count=2, gpu_type="H100-80GB")
    assert first_fit(nodes, needs) is None
    assert shortfall(nodes, needs) == (
        "needs 2x H100-80GB; the cluster has 1x H100-80GB (node a), 2x A100 (node b)"
    )


def test_a_node_that_could_hold_it_but_is_busy_is_named_as_busy() -> None:
    nodes = [node("a", cpu=1, CPU=0)]
    needs = Resources(cpu=1)
    assert first_fit(nodes, needs) is None
    assert shortfall(nodes, needs) == (
        "needs 1 CPU and 1024 MiB; every node that could hold it is busy (1 of 1 node)"
    )


def test_dead_nodes_hold_nothing_and_count_for_no_gpus() -> None:
    dead = RayNode("d", "d", "10.0.0.2", False, {"CPU": 8, "memory": 8 * GIB, "GPU": 4})
    assert first_fit([dead], Resources()) is None
    assert (
        shortfall([dead], Resources()) == "needs 1 CPU and 1024 MiB; the cluster has no live node"
    )
    assert gpu_inventory([dead, node("a", gpus=2, kind="L4")]) == {"L4": 2}


def test_any_gpu_type_asks_no_accelerator_and_untyped_gpus_count_as_gpu() -> None:
    untyped = node("a", gpus=2)
    needs = Resources(gpu_count=1)
    assert first_fit([untyped], needs) == untyped
    assert ask_for(needs, untyped).resources == {}
    assert gpu_inventory([untyped]) == {"GPU": 2}
