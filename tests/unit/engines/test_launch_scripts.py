"""TorchServe and Dynamo launch through a small shell script: run it against stand-in programs."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from modelport.domain.errors import InvalidSpec
from modelport.engines.dynamo import DynamoAdapter
from modelport.engines.torchserve import TorchServeAdapter
from tests.unit.engines.conftest import HOST, PORT, at, spec_of

# Stands in for `torchserve`: prints its argv, then the config file it was given.
FAKE_TORCHSERVE = """#!/bin/sh
echo "argv: $*"
while [ $# -gt 0 ]; do
  if [ "$1" = "--ts-config" ]; then cat "$2"; fi
  shift
done
"""


def _run(
    argv: list[str], env: dict[str, str], timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    # Own session: the Dynamo script ends with `kill 0`, which must not reach pytest.
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, start_new_session=True
    )


def test_torchserve_gets_a_config_with_our_addresses(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "torchserve"
    fake.write_text(FAKE_TORCHSERVE)
    fake.chmod(0o755)
    spec = spec_of(
        framework="torchserve",
        model={"path": "/store/resnet.mar"},
        engine_args={"default_workers_per_model": 2, "install_py_dep_per_model": True},
    )

    plan = TorchServeAdapter().plan(spec, at("resnet"))
    done = _run(plan.argv, {"PATH": f"{bin_dir}:{os.environ['PATH']}"})

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(
        "argv: --start --foreground --ncs --models resnet=resnet.mar --model-store /store "
        "--ts-config "
    )
    config = lines[1:]
    assert config[:4] == [
        f"inference_address=http://{HOST}:{PORT}",
        "disable_token_authorization=true",
        "default_workers_per_model=2",
        "install_py_dep_per_model=true",
    ]
    assert config[4].startswith("management_address=unix:/")
    assert config[5].startswith("metrics_address=unix:/")
    assert plan.readiness.path == "/ping"


def test_torchserve_rejects_multi_line_properties() -> None:
    spec = spec_of(
        framework="torchserve", model={"path": "/store"}, engine_args={"x": "1\nmodel_store=/"}
    )

    with pytest.raises(InvalidSpec) as caught:
        TorchServeAdapter().plan(spec, at("m"))
    assert caught.value.field == "engine_args.x"


def test_dynamo_runs_frontend_and_worker_and_ends_with_the_first_to_exit(
    tmp_path: Path,
) -> None:
    package = tmp_path / "fakes" / "dynamo"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    pid_file = tmp_path / "frontend.pid"
    (package / "frontend.py").write_text(
        textwrap.dedent(
            f"""
            import os, sys, time
            print(" ".join(["frontend", *sys.argv[1:]]), flush=True)  # one write: no interleaving
            open({str(pid_file)!r}, "w").write(str(os.getpid()))
            time.sleep(60)
            """
        )
    )
    (package / "vllm.py").write_text(
        textwrap.dedent(
            f"""
            import os, sys, time
            print(" ".join(["worker", os.environ["DYN_NAMESPACE"], *sys.argv[1:]]), flush=True)
            while not os.path.exists({str(pid_file)!r}):
                time.sleep(0.05)
            sys.exit(3)
            """
        )
    )
    spec = spec_of(
        framework="dynamo",
        model={"hf_id": "Qwen/Qwen3-0.6B"},
        engine_args={"enforce_eager": True},
    )

    plan = DynamoAdapter().plan(spec, at("q"))
    env = {**os.environ, **plan.env, "PYTHONPATH": str(tmp_path / "fakes")}
    done = _run(plan.argv, env)

    assert done.returncode == 3
    assert f"frontend --http-host {HOST} --http-port {PORT} --discovery-backend file" in (
        done.stdout
    )
    assert (
        f"worker modelport-{PORT} --enforce-eager --model Qwen/Qwen3-0.6B "
        "--discovery-backend file" in done.stdout
    )
    frontend_pid = int(pid_file.read_text())
    assert not Path(f"/proc/{frontend_pid}").exists() or _zombie(frontend_pid)
    assert plan.argv[0] == "bash" and sys.executable in plan.argv[2]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
