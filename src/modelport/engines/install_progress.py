"""The installer's reading of `pip install -v` output: which step it is at and the build's own
progress, condensed to one short line (pure: lines in, state out; scripts/install-engine.py
feeds it and writes what it says into the status file, engines/install_status.py).

A llama.cpp build prints thousands of long compiler lines; what a person needs of them is the
counter: ninja's `[42/193] /usr/bin/g++ ... -c .../ggml-cpu.c` becomes `[42/193] ggml-cpu.c`
(21%), make's `[ 42%] Building CXX object .../llama.cpp.o` becomes `[ 42%] llama.cpp.o`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modelport.engines.install_status import InstallStep

_NINJA = re.compile(r"^\s*\[(\d+)/(\d+)\]\s+(.*)$")
_MAKE = re.compile(r"^\s*\[\s*(\d+)%\]\s+(.*)$")
_SOURCE = re.compile(r"\s-c\s+(\S+)")
# pip's own lines that move the step on; the first match wins.
_STEPS = (
    (re.compile(r"^Installing collected packages"), InstallStep.INSTALLING),
    (re.compile(r"^\s*Building wheels? for "), InstallStep.BUILDING),
    (re.compile(r"^(Collecting|Downloading|Processing|Obtaining|Looking in)\b"), None),
)
_CACHED = re.compile(r"^\s*(Using cached|Processing) \S*llama_cpp_python\S*\.whl")


@dataclass
class BuildProgress:
    """What the output read so far says."""

    step: InstallStep = InstallStep.STARTING
    percent: int | None = None
    line: str = ""  # the latest progress line, condensed
    built: bool = False  # a compile happened (worth recording its duration)
    from_cache: bool = False  # pip installs a wheel it had built before

    def feed(self, raw: str) -> bool:
        """Read one line of pip's output; True when what it says changed."""
        before = (self.step, self.percent, self.line, self.from_cache)
        text = raw.rstrip()
        if _CACHED.match(text):
            self.from_cache = True
        counted = _counter(text)
        if counted is not None:
            self.percent, self.line = counted
            self.step, self.built = InstallStep.BUILDING, True
        else:
            self._step(text)
        return before != (self.step, self.percent, self.line, self.from_cache)

    def _step(self, text: str) -> None:
        for pattern, step in _STEPS:
            if pattern.match(text):
                if step is None:  # still finding things; never a step back
                    step = max(self.step, InstallStep.RESOLVING, key=_ORDER.index)
                self.step = step
                if step is InstallStep.BUILDING:
                    self.built = True
                return


_ORDER = list(InstallStep)


def _counter(text: str) -> tuple[int, str] | None:
    """(percent, condensed line) of a build-progress line, None for any other line."""
    ninja = _NINJA.match(text)
    if ninja is not None:
        done, total, command = int(ninja[1]), int(ninja[2]), ninja[3]
        return done * 100 // max(total, 1), f"[{done}/{total}] {_target(command)}"
    make = _MAKE.match(text)
    if make is not None:
        return int(make[1]), f"[{int(make[1]):3d}%] {_target(make[2])}"
    return None


def _target(command: str) -> str:
    """The file a build step works on, by name: its `-c` source, else its last word."""
    source = _SOURCE.search(command)
    word = source[1] if source else (command.split() or [""])[-1]
    return word.rsplit("/", 1)[-1]
