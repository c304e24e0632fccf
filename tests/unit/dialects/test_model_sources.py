"""DeepInfra's `hf` deploy and Tensormesh's deploy say where the weights come from (the fetcher
reads model.hf_id + revision and the HF_TOKEN secret) and plan vLLM correctly."""

from __future__ import annotations

import uuid

from modelport.dialects.deepinfra.schemas import DeployLLMIn
from modelport.dialects.deepinfra.translate import to_spec
from modelport.dialects.tensormesh.schemas import DeployModelRequest
from modelport.dialects.tensormesh.translate import deployment
from modelport.domain.launch import LaunchContext
from modelport.domain.specs import EndpointSpec, EnvVar, Framework, PullPolicy
from modelport.engines.registry import get_adapter

REPO = "HuggingFaceTB/SmolLM2-135M-Instruct"
REVISION = "8d3a7d5f0c2e"
TOKEN = "hf_deploy-s3cret-0042"


def _context(model_path: str | None = None) -> LaunchContext:
    # The controller passes the spec's env decrypted; the fetcher's files arrive as model_path.
    env = {"HF_TOKEN": TOKEN}
    return LaunchContext(host="0.0.0.0", port=9100, name="ep", env=env, model_path=model_path)


def _token_env(spec: EndpointSpec) -> list[EnvVar]:
    return [e for e in spec.env if e.name == "HF_TOKEN"]


def test_deepinfra_hf_deploy_names_the_hub_source_and_its_token() -> None:
    request = DeployLLMIn.model_validate(
        {
            "model_name": "acme/smol-chat",
            "gpu": "A100-80GB",
            "hf": {"repo": REPO, "revision": REVISION, "token": TOKEN},
            "extra_args": ["--max-model-len", "2048"],
        }
    )
    spec = to_spec(request, "abcde12345")
    assert spec.framework is Framework.VLLM
    assert (spec.model.hf_id, spec.model.revision, spec.model.path) == (REPO, REVISION, None)
    assert _token_env(spec) == [EnvVar(name="HF_TOKEN", value=TOKEN, secret=True)]
    assert spec.runtime is None and spec.model.image is None  # the server's default runtime
    plan = get_adapter(spec.framework).plan(spec, _context())
    assert plan.argv[:3] == ["vllm", "serve", REPO]
    assert plan.argv[plan.argv.index("--revision") + 1] == REVISION
    assert plan.argv[plan.argv.index("--max-model-len") + 1] == "2048"
    assert plan.env["HF_TOKEN"] == TOKEN
    assert plan.container is not None
    assert plan.container.image.startswith("vllm/vllm-openai:")
    assert plan.container.pull_policy is PullPolicy.IF_NOT_PRESENT


def test_deepinfra_weights_fetched_by_modelport_are_loaded_from_the_host() -> None:
    request = DeployLLMIn.model_validate(
        {"model_name": "acme/smol-chat", "gpu": "other", "hf": {"repo": REPO}}
    )
    spec = to_spec(request, "abcde12345")
    fetched = "/var/cache/modelport/models/hf/0123abcd"
    plan = get_adapter(spec.framework).plan(spec, _context(model_path=fetched))
    assert plan.argv[:3] == ["vllm", "serve", fetched]
    assert any(m.source == fetched and m.read_only for m in plan.mounts)


def test_deepinfra_without_hf_serves_model_name_from_the_hub() -> None:
    request = DeployLLMIn.model_validate({"model_name": REPO, "gpu": "other"})
    spec = to_spec(request, "abcde12345")
    assert (spec.model.hf_id, spec.env) == (REPO, [])


def test_tensormesh_model_path_and_hf_token() -> None:
    request = DeployModelRequest.model_validate(
        {
            "modelName": "smol",
            "userId": str(uuid.uuid4()),
            "modelPath": REPO,
            "gpuCount": 1,
            "gpuType": "GPU_TYPE_H100",
            "hfToken": TOKEN,
        }
    )
    spec = deployment(request, str(uuid.uuid4())).spec
    assert spec.framework is Framework.VLLM
    assert (spec.model.hf_id, spec.model.path) == (REPO, None)
    assert _token_env(spec) == [EnvVar(name="HF_TOKEN", value=TOKEN, secret=True)]
    plan = get_adapter(spec.framework).plan(spec, _context())
    assert plan.argv[:3] == ["vllm", "serve", REPO]
    assert plan.env["HF_TOKEN"] == TOKEN
