"""llama.cpp server plans: exact argv, defaults, engine_args rendering and rejected specs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from modelport.domain.errors import InvalidSpec
from modelport.domain.specs import ProbeProtocol
from modelport.engines.llamacpp import LlamaCppAdapter
from tests.unit.engines.conftest import HOST, PORT, at, spec_of


@pytest.fixture
def gguf(tmp_path: Path) -> str:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return str(path)


def test_plan_serves_the_gguf_on_the_given_address(gguf: str) -> None:
    spec = spec_of(framework="llamacpp", model={"path": gguf})

    plan = LlamaCppAdapter().plan(spec, at("chat", env={"HF_TOKEN": "t"}))

    assert plan.argv == [
        sys.executable, "-m", "llama_cpp.server", "--model_alias", "chat",
        "--n_threads", "1", "--n_ctx", "2048", "--interrupt_requests", "false",
        "--model", gguf, "--host", HOST, "--port", str(PORT),  # last: argparse keeps the last
    ]  # fmt: skip
    assert (plan.host, plan.port) == (HOST, PORT)
    assert plan.env == {"HF_TOKEN": "t"}


def test_engine_args_override_defaults_and_render_bools_as_words(gguf: str) -> None:
    spec = spec_of(
        framework="llamacpp",
        model={"path": gguf},
        engine_args={"n_ctx": 4096, "chat_format": "chatml", "embedding": True, "n-batch": 64},
        extra_args=["--seed", "7"],
        resources={"cpu": 2.5},
    )

    argv = LlamaCppAdapter().plan(spec, at("chat")).argv

    assert argv[argv.index("--n_threads") + 1] == "2"  # one thread per requested core
    assert argv[-20:-6] == [
        "--n_threads", "2", "--interrupt_requests", "false", "--n_ctx", "4096",
        "--chat_format", "chatml", "--embedding", "true", "--n_batch", "64", "--seed", "7",
    ]  # fmt: skip
    assert argv.count("--n_ctx") == 1


def test_probes_use_a_route_that_generation_does_not_block(gguf: str) -> None:
    plan = LlamaCppAdapter().plan(spec_of(framework="llamacpp", model={"path": gguf}), at("c"))

    assert plan.readiness.protocol is ProbeProtocol.HTTP and plan.readiness.path == "/docs"
    assert plan.liveness.path == "/docs"
    assert plan.liveness.period_seconds == 5 and plan.liveness.failure_threshold == 3


def test_a_spec_probe_without_path_gets_the_engine_route(gguf: str) -> None:
    spec = spec_of(
        framework="llamacpp",
        model={"path": gguf},
        readiness={"protocol": "http", "period_seconds": 7},
        liveness={"protocol": "tcp"},
    )

    plan = LlamaCppAdapter().plan(spec, at("c"))

    assert (plan.readiness.path, plan.readiness.period_seconds) == ("/docs", 7)
    assert plan.liveness.protocol is ProbeProtocol.TCP


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("n_ctxx", "has no flag --n_ctxx"),
        ("port", "sets --port itself"),
        ("model", "sets --model itself"),
        ("--n_ctx", "not a valid flag name"),
        ("n ctx", "not a valid flag name"),
    ],
)
def test_unknown_or_reserved_engine_args_are_rejected_naming_the_key(
    gguf: str, key: str, why: str
) -> None:
    spec = spec_of(framework="llamacpp", model={"path": gguf}, engine_args={key: 1})

    with pytest.raises(InvalidSpec, match=why) as caught:
        LlamaCppAdapter().plan(spec, at("c"))
    assert caught.value.field == f"engine_args.{key}"


def test_a_missing_model_file_names_model_path(tmp_path: Path) -> None:
    spec = spec_of(framework="llamacpp", model={"path": str(tmp_path / "nope.gguf")})

    with pytest.raises(InvalidSpec, match="no GGUF file") as caught:
        LlamaCppAdapter().plan(spec, at("c"))
    assert caught.value.field == "model.path"


def test_a_hugging_face_id_alone_is_not_enough() -> None:
    spec = spec_of(framework="llamacpp", model={"hf_id": "HuggingFaceTB/SmolLM2-135M-Instruct"})

    with pytest.raises(InvalidSpec, match="offline") as caught:
        LlamaCppAdapter().plan(spec, at("c"))
    assert caught.value.field == "model.path"


def test_available_here() -> None:
    assert LlamaCppAdapter().available() is None  # llama-cpp-python is a dev dependency
