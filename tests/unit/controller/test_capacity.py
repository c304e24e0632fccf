"""GPU placement: what a replica needs against what the runtime has and live replicas hold."""

from __future__ import annotations

from modelport.controller.capacity import GpuPool
from modelport.domain.specs import Resources


def gpus(count: int, kind: str | None = None) -> Resources:
    return Resources(gpu_count=count, gpu_type=kind)


def test_cpu_only_replicas_always_fit():
    assert GpuPool().shortfall(Resources()) is None


def test_a_typed_need_fits_only_that_type():
    pool = GpuPool.of({"A100": 2})
    assert pool.shortfall(gpus(2, "A100")) is None
    assert pool.shortfall(gpus(1, "H100-80GB")) == (
        "needs 1x H100-80GB; this host has none (it has 2x A100)"
    )


def test_a_need_larger_than_the_host_says_what_the_host_has():
    assert (
        GpuPool.of({"A100": 2}).shortfall(gpus(4, "A100")) == "needs 4x A100; this host has only 2"
    )
    assert (
        GpuPool.of({"A100": 1, "L4": 2}).shortfall(gpus(3)) == "needs 3x GPU; this host has only 2"
    )


def test_gpus_held_by_live_replicas_are_not_free():
    pool = GpuPool.of({"A100": 2}, held=[gpus(1, "A100"), gpus(1, "A100")])
    assert pool.shortfall(gpus(1, "A100")) == "needs 1x A100; 0 of 2 free"


def test_an_untyped_need_takes_any_single_type_with_room():
    pool = GpuPool.of({"A100": 1, "L4": 2})
    assert pool.shortfall(gpus(2)) is None
    after = pool.take(gpus(2))
    assert after.free == {"A100": 1, "L4": 0}
    assert after.shortfall(gpus(2)) == "needs 2x GPU; 1 of 2 free"
    assert GpuPool().shortfall(gpus(1)) == "needs 1x GPU; this host has none"


def test_catalogue_gpu_names_are_placed_on_what_the_driver_reports():
    """Vendor APIs ask for "H100-80GB" or "H100"; nvidia-smi says "NVIDIA H100 80GB HBM3"."""
    pool = GpuPool.of({"NVIDIA H100 80GB HBM3 (80GB)": 2, "NVIDIA L40S (45GB)": 1})
    assert pool.shortfall(gpus(2, "H100-80GB")) is None
    assert pool.shortfall(gpus(1, "L40S-48GB")) is None
    taken = pool.take(gpus(2, "H100"))
    assert taken.shortfall(gpus(1, "H100-80GB")) == "needs 1x H100-80GB; 0 of 2 free"
    assert pool.shortfall(gpus(1, "L4-24GB")) == (
        "needs 1x L4-24GB; this host has none "
        "(it has 2x NVIDIA H100 80GB HBM3 (80GB), 1x NVIDIA L40S (45GB))"
    )
