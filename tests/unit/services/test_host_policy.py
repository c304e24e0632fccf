"""host_policy: every part of a spec that reaches the host is named, with its field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from modelport.domain.specs import EndpointSpec
from modelport.services.host_policy import (
    allowed_dirs,
    host_uses,
    is_allowed_path,
    is_loader_env,
    new_host_uses,
)


@pytest.fixture
def models(tmp_path: Path) -> Path:
    store = tmp_path / "home" / "models"
    store.mkdir(parents=True)
    (store / "m.gguf").write_bytes(b"GGUF")
    return store


@pytest.fixture
def extra(tmp_path: Path) -> Path:
    found = tmp_path / "shared-models"
    found.mkdir()
    (found / "big.gguf").write_bytes(b"GGUF")
    return found


@pytest.fixture
def dirs(models: Path, extra: Path) -> tuple[str, ...]:
    return allowed_dirs(models, [extra])


def llama(**fields: Any) -> EndpointSpec:
    return EndpointSpec.model_validate(
        {"framework": "llamacpp", "model": {"hf_id": "org/x"}, **fields}
    )


def fields_of(spec: EndpointSpec, dirs: tuple[str, ...]) -> list[str]:
    return [use.field for use in host_uses(spec, dirs)]


def test_a_plain_spec_inside_the_model_dirs_needs_nothing(models: Path, dirs: tuple[str, ...]):
    spec = llama(
        model={"path": str(models / "m.gguf")},
        engine_args={"n_ctx": 4096, "chat_format": "chatml", "root_path": "/api"},
        env=[{"name": "HF_TOKEN", "value": "x", "secret": True}, {"name": "PYTHONUNBUFFERED"}],
        readiness={"protocol": "http", "path": "/health"},
        mounts=[{"path": "/scratch"}],
    )
    assert host_uses(spec, dirs) == []


def test_each_host_reaching_part_is_named(dirs: tuple[str, ...]):
    spec = EndpointSpec.model_validate(
        {
            "framework": "custom",
            "command": ["python", "-m", "http.server", "{port}"],
            "model": {"path": "/etc/hostname"},
            "extra_args": ["--model", "/etc/hostname"],
            "engine_args": {"ssl_keyfile": "/root/.ssh/id_rsa", "n_ctx": 1},
            "readiness": {"protocol": "exec", "commands": ["cat", "/etc/shadow"]},
            "liveness": {"protocol": "tcp", "port": 22},
            "mounts": [{"path": "/host", "source": "/"}],
            "env": [
                {"name": "LD_PRELOAD", "value": "/tmp/evil.so"},
                {"name": "PYTHONPATH", "value": "/tmp"},
                {"name": "PYTHONSTARTUP", "value": "/tmp/x.py"},
                {"name": "SAFE", "value": "1"},
            ],
        }
    )
    assert fields_of(spec, dirs) == [
        "spec.command",
        "spec.readiness.commands",
        "spec.liveness.port",
        "spec.extra_args",
        "spec.model.path",
        "spec.engine_args.ssl_keyfile",
        "spec.mounts.0.source",
        "spec.env.0.name",
        "spec.env.1.name",
        "spec.env.2.name",
    ]
    reasons = " ".join(use.message() for use in host_uses(spec, dirs))
    assert "host access" in reasons
    assert "modelport projects set" in reasons


def test_in_a_container_only_what_is_mounted_from_the_host_or_aimed_at_its_ports_counts(
    dirs: tuple[str, ...],
):
    """Commands, arguments, exec probes, loader variables and the engine's own file paths run
    inside the container; a host path mounted into it, and a probe of another port, still
    reach the host."""
    spec = EndpointSpec.model_validate(
        {
            "framework": "custom",
            "runtime": "docker",
            "command": ["python", "-m", "http.server", "{port}"],
            "model": {"image": "team/chat:1", "path": "/etc/hostname"},
            "extra_args": ["--model", "/etc/hostname"],
            "engine_args": {"ssl_keyfile": "/root/.ssh/id_rsa", "n_ctx": 1},
            "readiness": {"protocol": "exec", "commands": ["cat", "/etc/shadow"]},
            "liveness": {"protocol": "tcp", "port": 22},
            "mounts": [{"path": "/host", "source": "/"}],
            "env": [{"name": "LD_PRELOAD", "value": "/tmp/evil.so"}],
        }
    )
    assert fields_of(spec, dirs) == [
        "spec.liveness.port",
        "spec.model.path",
        "spec.mounts.0.source",
    ]
    image_only = EndpointSpec.model_validate(
        {"framework": "custom", "runtime": "docker", "model": {"image": "team/chat:1"},
         "extra_args": ["--port", "8000"]}
    )  # fmt: skip
    assert host_uses(image_only, dirs) == []


@pytest.mark.parametrize(
    "path",
    [
        "/etc/hostname",
        "relative/model.gguf",
        "m.gguf",
        "{models}/../../admin-token",
        "{models}/../models-evil/x.gguf",
        "{models}/link-out",
        "~/.modelport/secret.key",
    ],
)
def test_model_paths_outside_the_allowed_dirs_are_refused(
    path: str, models: Path, dirs: tuple[str, ...]
):
    os.symlink("/etc", models / "link-out")
    spec = llama(model={"path": path.format(models=models)})
    assert fields_of(spec, dirs) == ["spec.model.path"]


def test_paths_inside_the_store_or_configured_dirs_are_allowed(
    models: Path, extra: Path, dirs: tuple[str, ...]
):
    for path in (models / "m.gguf", extra / "big.gguf", extra, models / "sub" / ".." / "m.gguf"):
        assert is_allowed_path(str(path), dirs), path
    os.symlink(extra / "big.gguf", models / "alias.gguf")
    assert is_allowed_path(str(models / "alias.gguf"), dirs)  # resolves into an allowed dir
    assert not is_allowed_path(str(models) + "-evil/x", dirs)  # a prefix is not a parent
    assert not is_allowed_path(f"{models}/x\x00", dirs)


@pytest.mark.parametrize(
    ("arg", "value", "needs"),
    [
        ("ssl_keyfile", "key.pem", True),  # file flags: any value is a path
        ("hf_tokenizer_config_path", "/etc/passwd", True),
        ("lora_path", "/tmp/lora", True),
        ("download-dir", "/var/lib", True),
        ("draft_model", "/tmp/d.gguf", True),  # model-ish flags: paths only
        ("clip_model_path", "/tmp/c.gguf", True),
        ("tokenizer", "../../etc", True),
        ("lora_modules", "sql=/etc/lora", True),
        ("chat_template", "/etc/template.jinja", True),
        ("tokenizer", "HuggingFaceTB/SmolLM2-135M-Instruct", False),
        ("draft_model", "org/draft", False),
        ("model_alias", "smol", False),
        ("chat_template", "{% for m in messages %}{{ m.content }}/{% endfor %}", False),
        ("root_path", "/api", False),
        ("n_ctx", "4096", False),
        ("chat_format", "chatml", False),
    ],
)
def test_engine_args_that_take_paths(arg: str, value: str, needs: bool, dirs: tuple[str, ...]):
    spec = llama(engine_args={arg: value})
    assert fields_of(spec, dirs) == ([f"spec.engine_args.{arg}"] if needs else [])


def test_engine_arg_paths_inside_the_model_dirs_are_allowed(models: Path, dirs: tuple[str, ...]):
    spec = llama(engine_args={"lora_path": str(models / "m.gguf")})
    assert host_uses(spec, dirs) == []


@pytest.mark.parametrize(
    "name",
    [
        "LD_PRELOAD",
        "LD_LIBRARY_PATH",
        "DYLD_INSERT_LIBRARIES",
        "PYTHONPATH",
        "PYTHONSTARTUP",
        "PYTHONWARNINGS",
        "PATH",
        "BASH_ENV",
        "ENV",
        "NODE_OPTIONS",
        "PERL5OPT",
        "RUBYOPT",
        "GCONV_PATH",
        "GLIBC_TUNABLES",
        "BASH_FUNC_x%%",
        "ld_preload",
    ],
)
def test_loader_env(name: str):
    assert is_loader_env(name)


@pytest.mark.parametrize("name", ["PYTHONUNBUFFERED", "HF_TOKEN", "OMP_NUM_THREADS", "LANG"])
def test_ordinary_env(name: str):
    assert not is_loader_env(name)


def test_a_disabled_env_var_or_probe_reaches_nothing(dirs: tuple[str, ...]):
    spec = llama(
        model={"path": "/etc/hostname"},
        env=[{"name": "LD_PRELOAD", "value": "/x.so", "disabled": True}],
        readiness={"enabled": False, "protocol": "exec", "commands": ["true"]},
    )
    assert fields_of(spec, dirs) == ["spec.model.path"]


def test_only_content_new_to_the_stored_spec_counts(dirs: tuple[str, ...]):
    stored = EndpointSpec.model_validate(
        {
            "framework": "custom",
            "command": ["serve", "{port}"],
            "env": [{"name": "LD_LIBRARY_PATH", "value": "/opt/lib"}],
            "readiness": {"protocol": "exec", "commands": ["true"]},
        }
    )
    scaled = stored.with_changes({"replicas": 3, "labels": {"team": "a"}})
    assert new_host_uses(scaled, stored, dirs) == []
    more_env = stored.with_changes(
        {"env": [{"name": "A", "value": "1"}, {"name": "LD_LIBRARY_PATH", "value": "/opt/lib"}]}
    )
    assert new_host_uses(more_env, stored, dirs) == []  # moved, not changed
    changed = stored.with_changes({"command": ["sh", "-c", "cat /etc/shadow"]})
    assert [u.field for u in new_host_uses(changed, stored, dirs)] == ["spec.command"]
    preload = stored.with_changes({"env": [{"name": "LD_LIBRARY_PATH", "value": "/tmp"}]})
    assert [u.field for u in new_host_uses(preload, stored, dirs)] == ["spec.env.0.name"]
