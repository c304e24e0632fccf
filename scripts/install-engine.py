#!/usr/bin/env python3
"""Install the llama.cpp engine (llama-cpp-python[server], pinned in pyproject.toml's `engines`
extra) into this Python environment, saying all along what it does and for how long.

Foreground (scripts/setup.sh): pip's whole output goes to the log; the terminal shows one
updating line (the step, the build's own counter condensed, elapsed time, a measured estimate),
or a line every 30 s when it is not a terminal. `--background` (make run): starts itself
detached and returns at once; the server reads the progress from the status file
(modelport.engines.install_status) and shows the replica as "engine installing" meanwhile.
A build from source records its duration on this machine, the next estimate's base.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import threading
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path

from modelport.domain.specs import Framework
from modelport.engines.install_display import StatusLine
from modelport.engines.install_progress import BuildProgress
from modelport.engines.install_status import (
    MEASURED_BUILD_SECONDS,
    EngineInstall,
    InstallState,
    InstallStep,
    log_tail,
    read_install,
    status_dir,
    write_install,
)

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORK, ENGINE = Framework.LLAMACPP, "llama.cpp"
WRITE_EVERY = 1.0  # seconds between status-file writes while the build counts
QUIET_EVERY = 30.0  # seconds between lines when the output is not a terminal
HISTORY = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "modelport"


def requirement() -> str:
    """The engine's pinned requirement, from the one place it is kept."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return str(project["optional-dependencies"]["engines"][0])


def installed(req: str) -> bool:
    """The pinned version is installed here (an older or newer one is replaced)."""
    pinned = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==(\S+)", req.strip())
    if pinned is None:
        raise SystemExit(f"the engines extra must pin one version (name==version): {req!r}")
    try:
        return importlib.metadata.version(pinned[1]) == pinned[3]
    except importlib.metadata.PackageNotFoundError:
        return False


def estimate() -> tuple[float, bool]:
    """(seconds, recorded on this machine) for a build from source."""
    try:
        seconds = json.loads((HISTORY / "engine-builds.json").read_text())[FRAMEWORK.value]
        return float(seconds), True
    except (OSError, ValueError, KeyError, TypeError):
        return MEASURED_BUILD_SECONDS, False


def record(seconds: float) -> None:
    path = HISTORY / "engine-builds.json"
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**known, FRAMEWORK.value: round(seconds, 1)}) + "\n")


def fresh_status(pid: int) -> EngineInstall:
    seconds, recorded = estimate()
    return EngineInstall(
        framework=FRAMEWORK,
        engine=ENGINE,
        state=InstallState.RUNNING,
        step=InstallStep.STARTING,
        started_at=datetime.now(UTC),
        pid=pid,
        log_path=str(status_dir() / f"{FRAMEWORK.value}.log"),
        estimate_seconds=seconds,
        estimate_recorded=recorded,
    )


def tick_forever(line: StatusLine) -> None:
    """Elapsed time moves on even while pip says nothing (a download, a long compile)."""
    while True:
        time.sleep(1.0)
        if line.latest is not None:
            line.show(line.latest, datetime.now(UTC))


def install(pip_args: list[str]) -> int:
    """Run pip with its output in the log and its progress in the status file and terminal."""
    status = fresh_status(os.getpid())
    log_path = Path(status.log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    write_install(status)
    display = StatusLine(sys.stdout, every=QUIET_EVERY)
    print(f"==> installing {ENGINE} ({requirement()}); full output: {log_path}", flush=True)
    threading.Thread(target=tick_forever, args=(display,), daemon=True).start()
    env = {**os.environ, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 1)}
    argv = [sys.executable, "-m", "pip", "install", "-v", "--progress-bar", "off"]
    progress, written = BuildProgress(), 0.0
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*argv, requirement(), *pip_args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            if progress.feed(line):
                status = _updated(status, progress)
                display.show(status, datetime.now(UTC))
                if time.monotonic() - written >= WRITE_EVERY:
                    log.flush()
                    write_install(status)
                    written = time.monotonic()
        code = proc.wait()
    return _finish(status, progress, code, display)


def _updated(status: EngineInstall, progress: BuildProgress) -> EngineInstall:
    update: dict[str, object] = {
        "step": progress.step,
        "percent": progress.percent,
        "progress": progress.line,
        "from_cache": progress.from_cache,
    }
    if progress.from_cache:
        update["estimate_seconds"] = None  # nothing to build: the estimate does not apply
    return status.model_copy(update=update)


def _finish(status: EngineInstall, progress: BuildProgress, code: int, display: StatusLine) -> int:
    now = datetime.now(UTC)
    if code == 0:
        done = {"state": InstallState.DONE, "step": InstallStep.FINISHED, "finished_at": now}
        status = status.model_copy(update=done)
        if progress.built:  # a cached wheel's few seconds say nothing about a build
            record((now - status.started_at).total_seconds())
    else:
        tail = log_tail(Path(status.log_path))
        failed = {"state": InstallState.FAILED, "exit_code": code, "finished_at": now}
        status = status.model_copy(update={**failed, "tail": tail})
    write_install(status)
    display.show(status, now, final=True)
    if code != 0:
        print(f"error: {status.failure_text()}", file=sys.stderr, flush=True)
    return code


def start_in_background(pip_args: list[str]) -> None:
    """Detach an installer and write its first status before returning, so a server started
    right after already reads "installing" (never "not installed")."""
    argv = [sys.executable, str(Path(__file__).resolve())]
    child = subprocess.Popen(
        [*argv, *(f"--pip-arg={a}" for a in pip_args)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # outlives `make run`'s Ctrl+C: the next run finds it done
    )
    status = fresh_status(child.pid)
    current = read_install(FRAMEWORK)
    if current is None or current.pid != child.pid:  # else the child was quicker
        write_install(status)
    print(
        f"==> building {ENGINE} in the background (pid {child.pid}, "
        f"{status.estimate_text().lstrip(', ')}); log: {status.log_path}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--background", action="store_true", help="start detached, return")
    parser.add_argument("--pip-arg", action="append", default=[], help="passed on to pip")
    args = parser.parse_args()
    running = read_install(FRAMEWORK)
    ours = running is not None and running.pid == os.getpid()  # written by our --background
    if running is not None and running.state is InstallState.RUNNING and not ours:
        print(f"==> {ENGINE} is being installed already (pid {running.pid}): {running.log_path}")
        return 0
    if installed(requirement()):
        return 0
    if args.background:
        start_in_background(args.pip_arg)
        return 0
    return install(args.pip_arg)


if __name__ == "__main__":
    sys.exit(main())
