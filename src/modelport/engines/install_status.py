"""An engine being installed in the background (`make run`): the status its installer writes
and the server reads.

`make run` starts the server at once and builds llama.cpp meanwhile (scripts/install-engine.py).
The seam between the two is one small JSON file per engine in the Python environment the
engine goes into, `<sys.prefix>/modelport-engines/<framework>.json`: llama.cpp runs as that
interpreter's module, so its install belongs to that environment, not to a server's home. The
controller reads it before a launch (controller/apply.py): an install at work keeps the replica
PENDING EngineInstalling with its progress; a failed one (or an installer gone without a word)
is shown with its log's path and last lines.
"""

from __future__ import annotations

import contextlib
import os
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from modelport.domain.specs import Framework

STATUS_DIR = "modelport-engines"
# The llama.cpp build (llama-cpp-python 0.3.36 from source) on a fresh 2-core machine: issue
# 12's first `make run` took 12 min, about 11 of them this build (a build under a load of 12-19
# reached half its 193 steps in 38 min). The estimate until a build on the machine at hand
# records its own duration (scripts/install-engine.py keeps it in ~/.cache/modelport).
MEASURED_BUILD_SECONDS = 660.0
MEASURED_ON = "2 cores"
TAIL_LINES = 5  # how much of a failed install's log is shown
_TAIL_WIDTH = 200


class InstallState(StrEnum):
    """Where an engine's install stands."""

    RUNNING = "running"  # the installer is at work
    DONE = "done"  # installed: the engine's own availability check decides from now on
    FAILED = "failed"  # the installer gave up or died; its log says why


class InstallStep(StrEnum):
    """What the installer is doing (the long part is BUILDING)."""

    STARTING = "starting"  # the installer is up, pip not yet
    RESOLVING = "resolving"  # pip finds the package and its build tools
    BUILDING = "building"  # compiling the engine from source
    INSTALLING = "installing"  # unpacking the wheel into the environment
    FINISHED = "finished"  # nothing left to do


_STEP_TEXT = {
    InstallStep.STARTING: "{engine} install starting",
    InstallStep.RESOLVING: "fetching {engine}",
    InstallStep.BUILDING: "{engine} build",
    InstallStep.INSTALLING: "installing {engine}",
    InstallStep.FINISHED: "{engine} installed",
}


class EngineInstall(BaseModel):
    """One engine's install as its installer last wrote it."""

    model_config = ConfigDict(frozen=True)

    framework: Framework
    engine: str  # how messages name it, e.g. "llama.cpp"
    state: InstallState
    step: InstallStep
    percent: int | None = None  # the build's own progress, where it counts its steps
    progress: str = ""  # its latest progress line, condensed: "[42/193] ggml-cpu.c"
    started_at: datetime
    finished_at: datetime | None = None
    pid: int  # the installer's process
    log_path: str
    estimate_seconds: float | None = None  # None: nothing to build (a cached wheel)
    estimate_recorded: bool = False  # the estimate is this machine's own last build
    from_cache: bool = False  # pip found a built wheel: no compile
    exit_code: int | None = None
    tail: tuple[str, ...] = ()  # the log's last lines, once it failed

    def step_text(self) -> str:
        text = _STEP_TEXT[self.step].format(engine=self.engine)
        if self.step is InstallStep.BUILDING and self.percent is not None:
            text += f" {self.percent}%"
        return text + (" from a cached wheel" if self.from_cache else "")

    def estimate_text(self) -> str:
        if self.estimate_seconds is None:
            return ""
        where = "on this machine" if self.estimate_recorded else f"on {MEASURED_ON}"
        return f", about {minutes(self.estimate_seconds)} {where}"

    def waiting_text(self, now: datetime) -> str:
        """The replica's detail while it waits: "engine installing (llama.cpp build 42%, 3 min
        elapsed, about 6 min on this machine)"."""
        elapsed = minutes((now - self.started_at).total_seconds())
        return f"engine installing ({self.step_text()}, {elapsed} elapsed{self.estimate_text()})"

    def status_line(self, now: datetime) -> str:
        """One terminal line: "llama.cpp build 42% [81/193] ggml-cpu.c, 3 min elapsed, about
        6 min on this machine"."""
        elapsed = minutes(((self.finished_at or now) - self.started_at).total_seconds())
        if self.state is InstallState.DONE:
            return f"{self.engine} installed in {elapsed}"
        if self.state is InstallState.FAILED:
            return f"{self.step_text()} failed after {elapsed}"
        progress = f" {self.progress}" if self.step is InstallStep.BUILDING else ""
        return f"{self.step_text()}{progress}, {elapsed} elapsed{self.estimate_text()}"

    def failure_text(self) -> str:
        """What a failed install says: where it stopped, the log, its last lines."""
        code = f", exit code {self.exit_code}" if self.exit_code is not None else ""
        last = f"; last lines: {' | '.join(self.tail)}" if self.tail else ""
        return f"engine install failed ({self.step_text()}{code}); log: {self.log_path}{last}"


def minutes(seconds: float) -> str:
    """A duration as people read it in a status line: "40 s", "3 min"."""
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def status_dir(prefix: Path | None = None) -> Path:
    return (prefix or Path(sys.prefix)) / STATUS_DIR


def status_path(framework: Framework, prefix: Path | None = None) -> Path:
    return status_dir(prefix) / f"{framework.value}.json"


def read_install(framework: Framework, prefix: Path | None = None) -> EngineInstall | None:
    """The engine's install as it stands, or None when no installer ever wrote one (or its
    file cannot be read: the engine's own check decides then). A RUNNING install whose
    installer is gone reads as FAILED, with its log's last lines."""
    try:
        install = EngineInstall.model_validate_json(status_path(framework, prefix).read_bytes())
    except (OSError, ValidationError):
        return None
    if install.state is InstallState.RUNNING and not _alive(install.pid):
        return install.model_copy(
            update={"state": InstallState.FAILED, "tail": log_tail(Path(install.log_path))}
        )
    return install


def write_install(install: EngineInstall, prefix: Path | None = None) -> None:
    """Replace the status file whole (a reader never sees half of one)."""
    path = status_path(install.framework, prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(install.model_dump_json(indent=1))
    os.replace(partial, path)


def log_tail(path: Path, lines: int = TAIL_LINES) -> tuple[str, ...]:
    """The last non-empty lines of a log, each cut to a readable width."""
    try:
        with path.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - 16_384))
            text = f.read().decode(errors="replace")
    except OSError:
        return ()
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return tuple(line[:_TAIL_WIDTH] for line in kept)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    with contextlib.suppress(OSError):  # a zombie has finished all it will do
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    return True
