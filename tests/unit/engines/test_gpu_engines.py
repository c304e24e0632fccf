"""Plans of the GPU engines (vLLM, SGLang, TensorRT-LLM, Triton): exact CLI spelling."""

from __future__ import annotations

import sys

import pytest

from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import Framework
from modelport.engines.registry import get_adapter
from modelport.engines.sglang import SglangAdapter
from modelport.engines.tensorrt import TensorRtAdapter
from modelport.engines.triton import TritonAdapter
from modelport.engines.vllm import VllmAdapter
from tests.unit.engines.conftest import HOST, PORT, at, spec_of

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"


def test_vllm_serve_with_kebab_flags_and_both_model_names() -> None:
    spec = spec_of(
        framework="vllm",
        model={"hf_id": QWEN, "revision": "main"},
        engine_args={"max_model_len": 4096, "enforce-eager": True, "enable_prefix_caching": False},
        resources={"gpu_count": 2},
        max_concurrency=32,
        extra_args=["--dtype", "half"],
    )

    plan = VllmAdapter().plan(spec, at("qwen", env={"HF_TOKEN": "t"}))

    assert plan.argv == [
        "vllm", "serve", QWEN, "--revision", "main",
        "--served-model-name", QWEN, "qwen",
        "--tensor-parallel-size", "2", "--max-num-seqs", "32", "--max-model-len", "4096",
        "--enforce-eager", "--no-enable-prefix-caching", "--dtype", "half",
        "--host", HOST, "--port", str(PORT),
    ]  # fmt: skip
    assert plan.env == {"HF_TOKEN": "t"}
    assert (plan.readiness.path, plan.liveness.path) == ("/health", "/health")


def test_vllm_keeps_a_served_model_name_the_user_chose() -> None:
    spec = spec_of(framework="vllm", model={"hf_id": QWEN}, engine_args={"served-model-name": "q"})

    argv = VllmAdapter().plan(spec, at("qwen")).argv

    assert argv.count("--served-model-name") == 1
    assert argv[argv.index("--served-model-name") + 1] == "q"


def test_sglang_launch_server() -> None:
    spec = spec_of(
        framework="sglang",
        model={"path": "/models/qwen", "tokenizer": "/models/tok"},
        engine_args={"mem_fraction_static": 0.8, "trust-remote-code": True, "log_requests": False},
        resources={"gpu_count": 4},
    )

    plan = SglangAdapter().plan(spec, at("qwen"))

    assert plan.argv == [
        sys.executable, "-m", "sglang.launch_server", "--tokenizer-path", "/models/tok",
        "--served-model-name", "qwen", "--tp-size", "4", "--mem-fraction-static", "0.8",
        "--trust-remote-code",
        "--model-path", "/models/qwen", "--host", HOST, "--port", str(PORT),
    ]  # fmt: skip
    assert plan.readiness.path == "/health"


def test_trtllm_serve_uses_snake_case_flags() -> None:
    spec = spec_of(
        framework="tensorrt",
        model={"hf_id": QWEN},
        engine_args={"kv-cache-free-gpu-memory-fraction": 0.9, "backend": "pytorch"},
        resources={"gpu_count": 2},
        max_concurrency=16,
    )

    plan = TensorRtAdapter().plan(spec, at("qwen"))

    assert plan.argv == [
        "trtllm-serve", QWEN,
        "--tp_size", "2", "--max_batch_size", "16",
        "--kv_cache_free_gpu_memory_fraction", "0.9", "--backend", "pytorch",
        "--host", HOST, "--port", str(PORT),
    ]  # fmt: skip
    assert plan.readiness.path == "/health"


def test_triton_listens_only_on_the_replica_address() -> None:
    spec = spec_of(
        framework="triton",
        model={"path": "/models/repo"},
        engine_args={"log-verbose": 1, "strict_readiness": True},
    )

    plan = TritonAdapter().plan(spec, at("t"))

    assert plan.argv == [
        "tritonserver",
        "--allow-grpc=false", "--allow-metrics=false", "--log-verbose=1",
        "--strict-readiness=true", "--model-repository=/models/repo",
        f"--http-address={HOST}", f"--http-port={PORT}",
    ]  # fmt: skip
    assert plan.readiness.path == "/v2/health/ready"
    assert plan.liveness.path == "/v2/health/live"


def test_triton_grpc_can_be_turned_on_with_its_own_port() -> None:
    spec = spec_of(
        framework="triton",
        model={"path": "/models/repo"},
        engine_args={"allow_grpc": True, "grpc-port": 9001},
    )

    argv = TritonAdapter().plan(spec, at("t")).argv

    assert "--allow-grpc=false" not in argv
    assert argv[1:4] == ["--allow-metrics=false", "--allow-grpc=true", "--grpc-port=9001"]


@pytest.mark.parametrize("framework", ["vllm", "sglang", "tensorrt", "dynamo"])
def test_a_model_is_required(framework: str) -> None:
    spec = spec_of(framework=framework)

    with pytest.raises(InvalidSpec) as caught:
        get_adapter(Framework(framework)).plan(spec, at("m"))
    assert caught.value.field == "model.hf_id"


@pytest.mark.parametrize("framework", ["triton", "torchserve"])
def test_a_model_directory_is_required(framework: str) -> None:
    spec = spec_of(framework=framework, model={"hf_id": QWEN})

    with pytest.raises(InvalidSpec) as caught:
        get_adapter(Framework(framework)).plan(spec, at("m"))
    assert caught.value.field == "model.path"


@pytest.mark.parametrize(
    ("framework", "key"),
    [("vllm", "port"), ("vllm", "host"), ("sglang", "model_path"), ("triton", "http_port")],
)
def test_flags_modelport_sets_cannot_be_overridden(framework: str, key: str) -> None:
    spec = spec_of(framework=framework, model={"path": "/m"}, engine_args={key: "x"})

    with pytest.raises(InvalidSpec, match="itself") as caught:
        get_adapter(Framework(framework)).plan(spec, at("m"))
    assert caught.value.field == f"engine_args.{key}"
