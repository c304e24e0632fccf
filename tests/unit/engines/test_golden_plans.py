"""Golden plans: for each of the eight engines, a spec in and the exact LaunchPlan out (argv,
env, key, probes, container image/entrypoint/args, mounts, resources). A change to any engine's
command line shows here as a diff of the whole plan."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelport.dialects.deepinfra.schemas import DeployLLMIn
from modelport.dialects.deepinfra.translate import to_spec
from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import (
    ContainerPlan,
    LaunchContext,
    LaunchPlan,
    MountPlan,
    RegistryLogin,
)
from modelport.domain.specs import EndpointSpec, PullPolicy, Resources
from modelport.engines import dynamo, llamacpp, sglang, tensorrt, torchserve, triton, vllm
from modelport.engines.profile import tcp_probe
from modelport.engines.registry import get_adapter
from tests.unit.engines.conftest import HOST, PORT, spec_of

KEY = "replica-key"
PORT_S = str(PORT)
LLAMA = "meta-llama/Llama-3.1-8B-Instruct"
REGISTRY = RegistryLogin(server="127.0.0.1:5000", username="u", password="p")


def ctx(name: str, *, model_path: str | None = None, **env: str) -> LaunchContext:
    return LaunchContext(
        host=HOST, port=PORT, name=name, env=env, replica_key=KEY, model_path=model_path
    )


def planned(spec: EndpointSpec, context: LaunchContext) -> LaunchPlan:
    return get_adapter(spec.framework).plan(spec, context)


def test_llamacpp_serves_the_fetched_gguf_quietly_with_its_local_image(tmp_path: Path) -> None:
    fetched = tmp_path / "m-1"
    fetched.mkdir()
    (fetched / "smollm2.gguf").write_bytes(b"GGUF")
    gguf = str(fetched / "smollm2.gguf")
    spec = spec_of(
        framework="llamacpp",
        model={"model_id": "m-1", "path": "/unused.gguf"},
        resources={"cpu": 2.5},
        logging={"info": False},
        runtime="docker",
    )

    plan = planned(spec, ctx("chat", model_path=str(fetched)))

    args = [
        "--model_alias", "chat", "--n_threads", "2", "--n_ctx", "2048",
        "--interrupt_requests", "false", "--verbose", "false",
        "--model", gguf, "--host", HOST, "--port", PORT_S,
    ]  # fmt: skip
    assert plan == LaunchPlan(
        argv=[sys.executable, "-m", "llama_cpp.server", *args],
        env={"API_KEY": KEY},  # the key in the environment, never in argv
        replica_key=KEY,
        host=HOST,
        port=PORT,
        readiness=llamacpp.READINESS,
        liveness=llamacpp.LIVENESS,
        container=ContainerPlan(
            image="modelport/llamacpp:latest",
            command=["python3", "-m", "llama_cpp.server"],
            args=args,
        ),
        mounts=[
            MountPlan(source=str(fetched), target=str(fetched)),
            MountPlan(source="/unused.gguf", target="/unused.gguf"),
        ],
        resources=Resources(cpu=2.5),
    )


def test_tir_seed_vllm_lora_over_a_base_with_tokenizer_world_size_and_version() -> None:
    spec = spec_of(
        framework="vllm",
        model={
            "hf_id": LLAMA,
            "path": "/mnt/disk/adapter",  # TIR: the adapter's files on the endpoint's disk
            "tokenizer": "meta-llama/Llama-3.1-8B",
            "serve_type": "peft-model",
        },
        world_size=2,
        resources={"gpu_count": 2, "gpu_type": "H100-80GB"},
        server_version="v0.8.5",
        engine_args={"max_batch_size": 64, "enable_prefix_caching": True, "dtype": "bfloat16"},
        logging={"verbose_level": 2},
        image_pull_policy="Always",
        mounts=[{"path": "/mnt/disk", "source": "/srv/disks/ep-1"}, {"path": "/scratch"}],
    )

    plan = planned(spec, ctx("llama-lora", HF_TOKEN="hf_x"))

    args = [
        LLAMA, "--tokenizer", "meta-llama/Llama-3.1-8B",
        "--served-model-name", LLAMA,  # the base answers to its id ...
        "--enable-lora", "--lora-modules", "llama-lora=/mnt/disk/adapter",  # ...the adapter ours
        "--tensor-parallel-size", "2", "--max-num-seqs", "64", "--uvicorn-log-level", "debug",
        "--enable-prefix-caching", "--dtype", "bfloat16",
        "--host", HOST, "--port", PORT_S,
    ]  # fmt: skip
    assert plan == LaunchPlan(
        argv=["vllm", "serve", *args],
        env={"HF_TOKEN": "hf_x", "VLLM_API_KEY": KEY},
        replica_key=KEY,
        host=HOST,
        port=PORT,
        readiness=vllm.READINESS,
        liveness=vllm.LIVENESS,
        container=ContainerPlan(
            image="vllm/vllm-openai:v0.8.5",
            command=["vllm", "serve"],
            args=args,
            pull_policy=PullPolicy.ALWAYS,
        ),
        mounts=[
            MountPlan(source="/mnt/disk/adapter", target="/mnt/disk/adapter"),
            MountPlan(source="/srv/disks/ep-1", target="/mnt/disk", read_only=False),
            # No source: a scratch disk the runtime provides (a container's own volume).
            MountPlan(source=None, target="/scratch", read_only=False),
        ],
        resources=Resources(gpu_count=2, gpu_type="H100-80GB"),
    )


def test_deepinfra_hf_deploy_runs_vllm_on_the_repo_with_the_token_in_env() -> None:
    request = DeployLLMIn.model_validate(
        {
            "model_name": "acme/qwen-chat",
            "gpu": "L4-24GB",
            "num_gpus": 2,
            "max_batch_size": 32,
            "hf": {"repo": "Qwen/Qwen2.5-0.5B-Instruct", "revision": "main", "token": "hf_s"},
        }
    )
    spec = to_spec(request, "d-1")
    env = {var.name: var.value for var in spec.env}

    plan = planned(spec, LaunchContext(host=HOST, port=PORT, name="acme-qwen-chat", env=env))

    qwen = "Qwen/Qwen2.5-0.5B-Instruct"
    args = [
        qwen, "--revision", "main", "--served-model-name", qwen, "acme-qwen-chat",
        "--tensor-parallel-size", "2", "--max-num-seqs", "32",
        "--host", HOST, "--port", PORT_S,
    ]  # fmt: skip
    assert plan == LaunchPlan(
        argv=["vllm", "serve", *args],
        env={"HF_TOKEN": "hf_s"},  # vLLM downloads with it; no replica key was asked for
        host=HOST,
        port=PORT,
        readiness=vllm.READINESS,
        liveness=vllm.LIVENESS,
        container=ContainerPlan(
            image="vllm/vllm-openai:latest", command=["vllm", "serve"], args=args
        ),
        resources=Resources(gpu_count=2, gpu_type="L4-24GB"),
    )


def test_sglang_with_tensormesh_cache_switches_tokenizer_and_key_flag() -> None:
    spec = spec_of(
        framework="sglang",
        # Tensormesh's kvCacheEnabled false / cpuOffloadingEnabled true land as these flags.
        model={"hf_id": "Qwen/Qwen3-8B", "tokenizer": "Qwen/Qwen3-8B", "revision": "r1"},
        engine_args={"disable-radix-cache": True, "enable-hierarchical-cache": True},
        world_size=4,
        resources={"gpu_count": 4},
        max_concurrency=8,
        logging={"info": False},
    )

    plan = planned(spec, ctx("qwen3"))

    args = [
        "--revision", "r1", "--tokenizer-path", "Qwen/Qwen3-8B", "--served-model-name", "qwen3",
        "--tp-size", "4", "--max-running-requests", "8", "--log-level", "warning",
        "--disable-radix-cache", "--enable-hierarchical-cache",
        "--model-path", "Qwen/Qwen3-8B", "--host", HOST, "--port", PORT_S, "--api-key", KEY,
    ]  # fmt: skip
    assert plan == LaunchPlan(
        argv=[sys.executable, "-m", "sglang.launch_server", *args],
        replica_key=KEY,
        host=HOST,
        port=PORT,
        readiness=sglang.READINESS,
        liveness=sglang.LIVENESS,
        container=ContainerPlan(
            image="lmsysorg/sglang:latest",
            command=["python3", "-m", "sglang.launch_server"],
            args=args,
        ),
        resources=Resources(gpu_count=4),
    )


def test_trtllm_serves_the_fetched_files_with_its_own_batch_flag() -> None:
    spec = spec_of(
        framework="tensorrt",
        model={"hf_id": LLAMA, "model_id": "m-7"},
        engine_args={"max_batch_size": 16, "backend": "pytorch"},
        world_size=2,
        resources={"gpu_count": 2},
        server_version="0.21.0",
        logging={"info": False, "warning": False},
    )

    plan = planned(spec, ctx("trt", model_path="/var/lib/modelport/models/m-7"))

    args = [
        "/var/lib/modelport/models/m-7",
        "--tp_size", "2", "--log_level", "error", "--max_batch_size", "16", "--backend", "pytorch",
        "--host", HOST, "--port", PORT_S,
    ]  # fmt: skip
    assert plan == LaunchPlan(
        argv=["trtllm-serve", *args],
        host=HOST,
        port=PORT,
        readiness=tensorrt.READINESS,
        liveness=tensorrt.LIVENESS,
        container=ContainerPlan(
            image="nvcr.io/nvidia/tensorrt-llm/release:0.21.0",
            command=["trtllm-serve"],
            args=args,
        ),
        mounts=[
            MountPlan(
                source="/var/lib/modelport/models/m-7", target="/var/lib/modelport/models/m-7"
            )
        ],
        resources=Resources(gpu_count=2),
    )


def test_triton_repository_batch_as_backend_config_and_its_log_switches() -> None:
    spec = spec_of(
        framework="triton",
        model={"path": "/models/repo"},
        engine_args={"max_batch_size": 8},
        logging={"info": False, "verbose_level": 3},
    )

    plan = planned(spec, ctx("resnet"))

    args = [
        "--backend-config=default-max-batch-size=8", "--allow-grpc=false",
        "--allow-metrics=false", "--log-info=false", "--log-verbose=2",
        "--model-repository=/models/repo", f"--http-address={HOST}", f"--http-port={PORT}",
    ]  # fmt: skip
    assert plan == LaunchPlan(
        argv=["tritonserver", *args],
        host=HOST,
        port=PORT,
        readiness=triton.READINESS,
        liveness=triton.LIVENESS,
        container=ContainerPlan(
            image="nvcr.io/nvidia/tritonserver:25.01-py3", command=["tritonserver"], args=args
        ),
        mounts=[MountPlan(source="/models/repo", target="/models/repo")],
    )


def test_torchserve_one_archive_through_its_config_script() -> None:
    spec = spec_of(framework="torchserve", model={"path": "/store/mnist.mar"})

    plan = planned(spec, ctx("mnist"))

    assert plan.argv[:2] == ["sh", "-c"] and plan.argv[3:] == [
        "torchserve-launch",
        f"inference_address=http://{HOST}:{PORT}",
        "disable_token_authorization=true",
    ]
    assert "--models mnist=mnist.mar --model-store /store" in plan.argv[2]
    assert plan == LaunchPlan(
        argv=plan.argv,
        host=HOST,
        port=PORT,
        readiness=torchserve.READINESS,
        liveness=torchserve.LIVENESS,
        container=ContainerPlan(
            image="pytorch/torchserve:latest-cpu", command=["sh"], args=plan.argv[1:]
        ),
        mounts=[MountPlan(source="/store/mnist.mar", target="/store/mnist.mar")],
    )


def test_dynamo_runs_frontend_and_worker_with_python3_in_its_image() -> None:
    spec = spec_of(framework="dynamo", model={"hf_id": LLAMA}, world_size=2, max_concurrency=4)

    plan = planned(spec, ctx("dyn"))

    worker = f"-m dynamo.vllm --tensor-parallel-size 2 --max-num-seqs 4 --model {LLAMA}"
    frontend = f"-m dynamo.frontend --http-host {HOST} --http-port {PORT}"
    assert f"{sys.executable} {frontend}" in plan.argv[2]
    assert f"{sys.executable} {worker}" in plan.argv[2]
    assert plan.container is not None
    assert plan.container.args[1] == plan.argv[2].replace(sys.executable, "python3")
    assert plan == LaunchPlan(
        argv=plan.argv,
        env={"DYN_NAMESPACE": f"modelport-{PORT}"},
        host=HOST,
        port=PORT,
        readiness=dynamo.READINESS,
        liveness=dynamo.LIVENESS,
        container=ContainerPlan(
            image="nvcr.io/nvidia/ai-dynamo/vllm-runtime:latest",
            command=["bash"],
            args=plan.container.args,
        ),
    )


def test_custom_image_with_its_command_as_entrypoint_and_a_private_registry() -> None:
    spec = spec_of(
        framework="custom",
        model={"image": "127.0.0.1:5000/team/server:1.2"},
        command=["python3", "-m", "server", "--port", "{port}"],
        extra_args=["--workers", "1"],
    )
    context = LaunchContext(
        host=HOST, port=PORT, name="svc", env={}, replica_key=KEY, registry=REGISTRY
    )

    plan = planned(spec, context)

    command = ["python3", "-m", "server", "--port", PORT_S]
    assert plan == LaunchPlan(
        argv=[*command, "--workers", "1"],
        env={"HOST": HOST, "PORT": PORT_S, "MODELPORT_REPLICA_KEY": KEY},
        replica_key=KEY,
        host=HOST,
        port=PORT,
        readiness=tcp_probe(period=1.0),
        liveness=tcp_probe(period=5.0),
        image="127.0.0.1:5000/team/server:1.2",
        container=ContainerPlan(
            image="127.0.0.1:5000/team/server:1.2",
            command=command,
            args=["--workers", "1"],
            registry=REGISTRY,
        ),
    )
    assert plan.container is not None and plan.container.registry == REGISTRY


def test_a_custom_image_without_a_command_keeps_its_entrypoint() -> None:
    spec = spec_of(framework="custom", model={"image": "team/server:1"}, extra_args=["-v"])

    plan = planned(spec, ctx("svc"))

    assert plan.container == ContainerPlan(image="team/server:1", command=None, args=["-v"])


@pytest.mark.parametrize("framework", ["tensorrt", "triton", "torchserve", "dynamo"])
def test_engines_without_lora_refuse_a_peft_model(framework: str) -> None:
    spec = spec_of(
        framework=framework,
        model={"hf_id": LLAMA, "path": "/models/x", "serve_type": "peft-model"},
    )

    with pytest.raises(InvalidSpec) as refused:
        planned(spec, ctx("x"))

    assert refused.value.field == "model.serve_type"


def test_a_peft_model_needs_its_base_in_hf_id() -> None:
    spec = spec_of(framework="vllm", model={"path": "/a", "serve_type": "peft-model"})

    with pytest.raises(InvalidSpec) as refused:
        planned(spec, ctx("x"))

    assert refused.value.field == "model.hf_id"


def test_llamacpp_applies_a_fetched_lora_over_its_gguf(tmp_path: Path) -> None:
    gguf = tmp_path / "base.gguf"
    gguf.write_bytes(b"GGUF")
    spec = spec_of(
        framework="llamacpp",
        model={"path": str(gguf), "model_id": "lora-1", "serve_type": "peft-model"},
    )

    argv = planned(spec, ctx("chat", model_path="/models/lora-1/adapter.gguf")).argv

    assert argv[argv.index("--lora_path") + 1] == "/models/lora-1/adapter.gguf"
    assert argv[argv.index("--model") + 1] == str(gguf)


def test_user_engine_args_win_over_every_default_in_either_spelling() -> None:
    spec = spec_of(
        framework="vllm",
        model={"hf_id": LLAMA},
        world_size=2,
        engine_args={"tensor_parallel_size": 4, "served_model_name": "mine"},
    )

    argv = planned(spec, ctx("x")).argv

    assert argv.count("--tensor-parallel-size") == 1
    assert argv[argv.index("--tensor-parallel-size") + 1] == "4"
    assert argv.count("--served-model-name") == 1
    assert argv[argv.index("--served-model-name") + 1] == "mine"
