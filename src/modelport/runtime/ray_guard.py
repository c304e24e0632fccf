"""An engine never outlives its Ray actor: `python -m modelport.runtime.ray_guard PID START --
ENGINE ARGV...` runs the engine as its child and ends the pair when the actor process PID
(whose /proc start time is START, so a reused pid is not mistaken for it) is gone.

The actor starts this guard as the replica's process (runtime/ray_actor.py), so the guard leads
the replica's own session and process group: a stop signals both, the engine's exit is the
guard's exit, and CPU seconds, exec probes and logs see the engine below it as before. A
worker process that dies alone (killed, out of memory) while its node lives would otherwise
leave the engine serving with nobody to stop it: the guard then stops the whole group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

POLL_SECONDS = 0.5  # how soon an engine is stopped after its actor died
GRACE_SECONDS = 5.0  # SIGTERM, then SIGKILL of the group


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[19])


def guarded(argv: list[str], pid: int) -> list[str]:
    """`argv` run under a guard of the process `pid` (alive now)."""
    started = start_time(pid)
    return [sys.executable, "-m", __name__, str(pid), str(started or 0), "--", *argv]


def _stop_group(engine: subprocess.Popen[bytes]) -> None:
    """SIGTERM the engine's group (ours), SIGKILL it after the grace period."""
    group = os.getpgrp()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # we signal our own group: outlive the TERM
    os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        engine.wait(GRACE_SECONDS)
    os.killpg(group, signal.SIGKILL)  # the guard too


def main(args: list[str]) -> int:
    if len(args) < 4 or args[2] != "--":
        print("usage: ray_guard PID START -- ARGV...", file=sys.stderr)
        return 2
    watched, started, argv = int(args[0]), int(args[1]), args[3:]
    try:
        engine = subprocess.Popen(argv)  # same session and group: a stop reaches both
    except OSError as exc:
        print(f"modelport: cannot run {argv[0]!r}: {exc.strerror or exc}", file=sys.stderr)
        return 127
    # A TERM or INT from a stop reaches the engine too (same group): wait for it to end.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    while True:
        code = engine.poll()
        if code is not None:
            return code if code >= 0 else 128 - code
        if start_time(watched) != started:  # gone, or a new process with its pid
            print(f"modelport: the replica's Ray actor (pid {watched}) is gone; stopping")
            sys.stdout.flush()
            _stop_group(engine)
            return 137
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
