"""The engine-install seam: the status file the installer writes and the server reads, and the
installer's reading of pip's output (the build's counter condensed to one line)."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from modelport.domain.specs import Framework
from modelport.engines.install_progress import BuildProgress
from modelport.engines.install_status import (
    MEASURED_ON,
    EngineInstall,
    InstallState,
    InstallStep,
    read_install,
    status_path,
    write_install,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
# Lines as `pip install -v llama-cpp-python` prints them (paths shortened).
NINJA = (
    "  [42/193] /usr/bin/x86_64-linux-gnu-gcc -DGGML_BUILD -O3 -MD -MT vendor/llama.cpp/ggml/src/"
    "CMakeFiles/ggml-cpu.dir/ggml-cpu.c.o -o vendor/ggml-cpu.c.o -c /tmp/pip-wheel-x/"
    "vendor/llama.cpp/ggml/src/ggml-cpu/ggml-cpu.c"
)
MAKE = "  [ 42%] Building CXX object vendor/llama.cpp/src/CMakeFiles/llama.dir/llama.cpp.o"


def install(tmp_path: Path, **changes: object) -> EngineInstall:
    record = EngineInstall(
        framework=Framework.LLAMACPP,
        engine="llama.cpp",
        state=InstallState.RUNNING,
        step=InstallStep.BUILDING,
        percent=21,
        progress="[42/193] ggml-cpu.c",
        started_at=NOW - timedelta(seconds=190),
        pid=os.getpid(),
        log_path=str(tmp_path / "llamacpp.log"),
        estimate_seconds=540.0,
    )
    return record.model_copy(update=changes)


def test_the_status_file_round_trips_in_the_environment_it_describes(tmp_path: Path) -> None:
    written = install(tmp_path)
    write_install(written, prefix=tmp_path)
    assert status_path(Framework.LLAMACPP, tmp_path).parent == tmp_path / "modelport-engines"
    assert read_install(Framework.LLAMACPP, prefix=tmp_path) == written
    assert read_install(Framework.VLLM, prefix=tmp_path) is None  # no installer for it


def test_an_unreadable_status_file_is_no_status(tmp_path: Path) -> None:
    path = status_path(Framework.LLAMACPP, tmp_path)
    path.parent.mkdir()
    path.write_text('{"framework": "llamacpp", "state": "runn')
    assert read_install(Framework.LLAMACPP, prefix=tmp_path) is None


def test_an_installer_gone_while_running_reads_as_failed_with_its_log(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / "llamacpp.log").write_text("\n".join(f"line {i}" for i in range(20)) + "\n\n")
    write_install(install(tmp_path, pid=gone.pid), prefix=tmp_path)

    found = read_install(Framework.LLAMACPP, prefix=tmp_path)
    assert found is not None and found.state is InstallState.FAILED
    assert found.tail == ("line 15", "line 16", "line 17", "line 18", "line 19")
    assert found.failure_text() == (
        f"engine install failed (llama.cpp build 21%); log: {tmp_path / 'llamacpp.log'}; "
        "last lines: line 15 | line 16 | line 17 | line 18 | line 19"
    )


def test_what_a_waiting_replica_and_the_terminal_say(tmp_path: Path) -> None:
    reference = install(tmp_path)
    assert reference.waiting_text(NOW) == (
        f"engine installing (llama.cpp build 21%, 3 min elapsed, about 9 min on {MEASURED_ON})"
    )
    assert reference.status_line(NOW) == (
        f"llama.cpp build 21% [42/193] ggml-cpu.c, 3 min elapsed, about 9 min on {MEASURED_ON}"
    )
    recorded = install(tmp_path, estimate_recorded=True, step=InstallStep.RESOLVING)
    assert recorded.waiting_text(NOW - timedelta(seconds=150)) == (
        "engine installing (fetching llama.cpp, 40 s elapsed, about 9 min on this machine)"
    )
    cached = install(tmp_path, step=InstallStep.INSTALLING, from_cache=True, estimate_seconds=None)
    assert cached.waiting_text(NOW) == (
        "engine installing (installing llama.cpp from a cached wheel, 3 min elapsed)"
    )


def test_the_build_counter_is_condensed_to_one_line() -> None:
    progress = BuildProgress()
    assert progress.feed("Collecting llama-cpp-python==0.3.36")
    assert progress.step is InstallStep.RESOLVING
    assert progress.feed("  Building wheel for llama-cpp-python (pyproject.toml): started")
    assert progress.step is InstallStep.BUILDING and progress.percent is None
    assert progress.feed(NINJA)
    assert (progress.percent, progress.line) == (21, "[42/193] ggml-cpu.c")
    assert not progress.feed("  -- Configuring done")  # any other line changes nothing
    assert progress.feed(MAKE)
    assert (progress.percent, progress.line) == (42, "[ 42%] llama.cpp.o")
    assert progress.feed("Installing collected packages: llama-cpp-python")
    assert progress.step is InstallStep.INSTALLING and progress.built


def test_a_cached_wheel_is_seen_as_no_build() -> None:
    progress = BuildProgress()
    progress.feed("Processing /root/.cache/pip/wheels/a7/llama_cpp_python-0.3.36-py3-none-any.whl")
    progress.feed("Installing collected packages: llama-cpp-python")
    assert progress.from_cache and not progress.built
    assert progress.step is InstallStep.INSTALLING
