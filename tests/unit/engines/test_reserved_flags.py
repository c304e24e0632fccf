"""Every engine: reserved flags cannot be set through extra_args or engine_args, in any spelling,
they come last in argv, and the replica key reaches the engine the way it reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from modelport.domain.errors import InvalidSpec
from modelport.domain.launch import LaunchPlan
from modelport.domain.specs import Framework
from modelport.engines.registry import get_adapter
from tests.unit.engines.conftest import HOST, PORT, at, spec_of

KEY = "k3y-0f-th1s-r3pl1ca"


@pytest.fixture
def gguf(tmp_path: Path) -> str:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return str(path)


def _model(framework: str, gguf: str) -> dict[str, Any]:
    if framework == "llamacpp":
        return {"path": gguf}
    if framework in {"triton", "torchserve"}:
        return {"path": "/models/repo"}
    return {"hf_id": "Qwen/Qwen2.5-0.5B-Instruct"}


def _plan(framework: str, gguf: str, **fields: Any) -> LaunchPlan:
    spec = spec_of(framework=framework, model=_model(framework, gguf), **fields)
    adapter = get_adapter(Framework(framework))
    return adapter.plan(spec, at("m", replica_key=KEY))


# (framework, an extra_args list that tries to replace what Modelport set, the flag it hits)
OVERRIDES = [
    ("llamacpp", ["--model", "/etc/hostname"], "model"),
    ("llamacpp", ["--model=/etc/hostname"], "model"),
    ("llamacpp", ["--mod", "/etc/hostname"], "model"),  # argparse takes unique prefixes
    ("llamacpp", ["--seed", "1", "--api-key", "mine"], "api_key"),  # - for _
    ("llamacpp", ["--API_KEY=mine"], "api_key"),
    ("llamacpp", ["--config_file", "/tmp/c.json"], "config_file"),
    ("llamacpp", ["--host", "0.0.0.0"], "host"),
    ("vllm", ["--port", "80"], "port"),
    ("vllm", ["--api_key", "mine"], "api-key"),
    ("vllm", ["--model", "/etc"], "model"),
    ("vllm", ["--config=/tmp/c.yaml"], "config"),
    ("sglang", ["--model-path", "/etc"], "model-path"),
    ("sglang", ["--api-key=mine"], "api-key"),
    ("tensorrt", ["--host=0.0.0.0"], "host"),
    ("triton", ["--model-repository=/"], "model-repository"),
    ("triton", ["--http-add", "0.0.0.0"], "http-address"),
    ("torchserve", ["--model-store", "/"], "model-store"),
    ("torchserve", ["--ts-config", "/tmp/x"], "ts-config"),
    ("dynamo", ["--model", "/etc"], "model"),
]


@pytest.mark.parametrize(("framework", "extra", "hit"), OVERRIDES)
def test_extra_args_cannot_set_a_reserved_flag(
    gguf: str, framework: str, extra: list[str], hit: str
) -> None:
    with pytest.raises(InvalidSpec, match=f"would set --{hit}") as caught:
        _plan(framework, gguf, extra_args=extra)
    offending = next(i for i, a in enumerate(extra) if a.startswith("--") and a != "--seed")
    assert caught.value.field == f"extra_args.{offending}"


@pytest.mark.parametrize(
    ("framework", "key"),
    [("llamacpp", "api_key"), ("vllm", "api-key"), ("sglang", "api_key"), ("vllm", "mod")],
)
def test_engine_args_cannot_set_the_key_flag_or_abbreviate_a_reserved_one(
    gguf: str, framework: str, key: str
) -> None:
    with pytest.raises(InvalidSpec, match="itself") as caught:
        _plan(framework, gguf, engine_args={key: "mine"})
    assert caught.value.field == f"engine_args.{key}"


@pytest.mark.parametrize(
    ("framework", "last"),
    [
        ("llamacpp", ["--host", HOST, "--port", str(PORT)]),
        ("vllm", ["--host", HOST, "--port", str(PORT)]),
        ("sglang", ["--port", str(PORT), "--api-key", KEY]),
        ("tensorrt", ["--host", HOST, "--port", str(PORT)]),
        ("triton", [f"--http-address={HOST}", f"--http-port={PORT}"]),
    ],
)
def test_reserved_flags_come_after_extra_args(gguf: str, framework: str, last: list[str]) -> None:
    # Where a parser keeps the last value, Modelport's wins even over a spelling it missed.
    argv = _plan(framework, gguf, extra_args=["--seed", "3"]).argv

    assert argv[-len(last) :] == last
    assert argv.index("--seed") < len(argv) - len(last)


@pytest.mark.parametrize(
    ("framework", "variable"),
    [("llamacpp", "API_KEY"), ("vllm", "VLLM_API_KEY"), ("custom", "MODELPORT_REPLICA_KEY")],
)
def test_the_key_goes_in_the_environment_where_the_engine_reads_it_there(
    gguf: str, framework: str, variable: str
) -> None:
    fields = {"command": ["python", "-m", "http.server", "{port}"]} if framework == "custom" else {}
    plan = _plan(framework, gguf, **fields)

    assert plan.env[variable] == KEY
    assert plan.replica_key == KEY
    assert KEY not in " ".join(plan.argv)  # argv is world-readable in /proc
    assert KEY not in repr(plan)


def test_sglang_takes_the_key_only_on_argv(gguf: str) -> None:
    plan = _plan("sglang", gguf)

    assert plan.argv[-2:] == ["--api-key", KEY]
    assert plan.replica_key == KEY


@pytest.mark.parametrize("framework", ["triton", "tensorrt", "torchserve", "dynamo"])
def test_engines_without_key_support_get_none_and_say_so(gguf: str, framework: str) -> None:
    plan = _plan(framework, gguf)

    assert plan.replica_key is None  # the gateway then sends none: docs/security.md says so
    assert KEY not in " ".join(plan.argv) and KEY not in plan.env.values()


def test_no_key_given_means_no_key_set(gguf: str) -> None:
    spec = spec_of(framework="llamacpp", model={"path": gguf})
    plan = get_adapter(Framework.LLAMACPP).plan(spec, at("m"))

    assert plan.replica_key is None and "API_KEY" not in plan.env


@pytest.mark.parametrize(
    ("framework", "name"),
    [
        ("llamacpp", "API_KEY"),
        ("llamacpp", "api_key"),  # pydantic-settings reads the environment without case
        ("llamacpp", "CONFIG_FILE"),  # would replace argv altogether
        ("vllm", "VLLM_API_KEY"),
        ("custom", "MODELPORT_REPLICA_KEY"),
    ],
)
def test_env_cannot_replace_the_key_or_the_config(gguf: str, framework: str, name: str) -> None:
    fields: dict[str, Any] = {"env": [{"name": "OK", "value": "1"}, {"name": name, "value": "x"}]}
    if framework == "custom":
        fields["command"] = ["sh", "-c", "true"]

    with pytest.raises(InvalidSpec, match="set by Modelport") as caught:
        _plan(framework, gguf, **fields)
    assert caught.value.field == "env.1.name"
