"""Replicas across nodes (resources.nodes > 1): the exact command of each node for vLLM and
SGLang (one engine per node, the first one serving, all meeting at its port + 1), and a clear
refusal from engines and specs that cannot span nodes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchContext
from modelport.engines.registry import get_adapter
from tests.unit.engines.conftest import spec_of

BIG = "meta-llama/Llama-3.1-405B-Instruct"
FIRST = "10.0.0.5"  # the first node's private address: the slot place() chose
CTX = LaunchContext(host=FIRST, port=8000, name="big", env={}, replica_key="k")
ACROSS_TWO = {"gpu_count": 16, "gpu_type": "H100-80GB", "nodes": 2}


def test_vllm_tensor_parallel_in_a_node_pipeline_across_nodes_workers_headless() -> None:
    spec = spec_of(framework="vllm", model={"hf_id": BIG}, resources=ACROSS_TWO)
    plan = get_adapter(spec.framework).plan(spec, CTX)
    common = [
        "vllm", "serve", BIG, "--served-model-name", BIG, "big",
        "--tensor-parallel-size", "8", "--host", FIRST, "--port", "8000",
        "--pipeline-parallel-size", "2", "--distributed-executor-backend", "mp",
        "--nnodes", "2", "--master-addr", FIRST, "--master-port", "8001",
    ]  # fmt: skip
    assert plan.argv == [*common, "--node-rank", "0"]
    assert plan.node_argv == [[*common, "--node-rank", "1", "--headless"]]
    assert plan.env == {"VLLM_API_KEY": "k"}  # every node runs with the same env
    assert plan.container is not None and plan.container.args == plan.argv[2:]


def test_sglang_counts_every_gpu_and_meets_at_the_first_node() -> None:
    spec = spec_of(framework="sglang", model={"hf_id": BIG}, resources={**ACROSS_TWO, "nodes": 4})
    plan = get_adapter(spec.framework).plan(spec, CTX)
    common = [
        sys.executable, "-m", "sglang.launch_server", "--served-model-name", "big",
        "--tp-size", "16", "--model-path", BIG, "--host", FIRST, "--port", "8000",
        "--api-key", "k", "--nnodes", "4", "--dist-init-addr", f"{FIRST}:8001",
    ]  # fmt: skip
    assert plan.argv == [*common, "--node-rank", "0"]
    assert plan.node_argv == [[*common, "--node-rank", str(rank)] for rank in (1, 2, 3)]


def test_one_node_plans_have_no_further_nodes() -> None:
    spec = spec_of(framework="vllm", model={"hf_id": BIG}, resources={"gpu_count": 4})
    plan = get_adapter(spec.framework).plan(spec, CTX)
    assert plan.node_argv == [] and "--nnodes" not in plan.argv
    assert plan.argv[plan.argv.index("--tensor-parallel-size") + 1] == "4"


@pytest.mark.parametrize("framework", ["llamacpp", "tensorrt", "triton", "custom"])
def test_engines_that_cannot_span_nodes_say_so(framework: str, tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    spec = spec_of(
        framework=framework,
        model={"hf_id": BIG, "path": str(gguf)},
        command=["serve", "{port}"],
        resources={"gpu_count": 2, "nodes": 2},
    )
    with pytest.raises(InvalidSpec) as refused:
        get_adapter(spec.framework).plan(spec, CTX)
    assert refused.value.field == "resources.nodes"
    assert "cannot span nodes; vllm and sglang can" in refused.value.message


@pytest.mark.parametrize("gpus", [0, 3])
def test_gpus_must_split_evenly_over_the_nodes(gpus: int) -> None:
    with pytest.raises(ValidationError, match="a multiple of 2"):
        spec_of(framework="vllm", model={"hf_id": BIG}, resources={"gpu_count": gpus, "nodes": 2})


@pytest.mark.parametrize("world_size", [2, 3, 8])
def test_a_world_size_the_nodes_gpus_cannot_run_is_refused_naming_it(world_size: int) -> None:
    """Across 2 nodes of 2 GPUs the engines run 4 ranks: world_size 4 (or 1) only."""
    with pytest.raises(ValidationError, match="world_size: a replica across 2 nodes with 4 GPUs"):
        spec_of(
            framework="vllm", model={"hf_id": BIG}, world_size=world_size,
            resources={"gpu_count": 4, "nodes": 2},
        )  # fmt: skip
    for fits in (1, 4):
        spec_of(framework="vllm", model={"hf_id": BIG}, world_size=fits,
                resources={"gpu_count": 4, "nodes": 2})  # fmt: skip
