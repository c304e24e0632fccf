"""What Linux's /proc says about a pid: enough to tell a live process from a reused pid."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_GONE_STATES = frozenset({"Z", "X", "x"})  # zombie, dead: exited, waiting to be reaped


@dataclass(frozen=True, slots=True)
class ProcInfo:
    state: str  # one letter from /proc/<pid>/stat, e.g. "R", "S", "Z"
    process_group: int
    start_time: int  # clock ticks since boot; differs when the pid has been reused

    @property
    def alive(self) -> bool:
        return self.state not in _GONE_STATES


def read_proc(pid: int) -> ProcInfo | None:
    """The process's state and start time, or None when there is no such pid (or no /proc)."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or ')'.
    fields = raw[raw.rfind(")") + 2 :].split()
    # fields[0] is field 3 (state), fields[2] field 5 (pgrp), fields[19] field 22 (starttime).
    if len(fields) < 20:
        return None
    return ProcInfo(state=fields[0], process_group=int(fields[2]), start_time=int(fields[19]))


def start_time_of(pid: int) -> int | None:
    info = read_proc(pid)
    return None if info is None else info.start_time


def is_same_live_process(pid: int, start_time: int | None) -> bool:
    """True when `pid` runs and is the process that started at `start_time` (not a reuse)."""
    if start_time is None:
        return False  # without a start time a reused pid cannot be told apart: never trust it
    info = read_proc(pid)
    return info is not None and info.alive and info.start_time == start_time


def group_has_live_members(pgid: int) -> bool:
    """True while a process of group `pgid` runs. Zombies do not count: an adopted replica's
    zombie is reaped by its parent (init, or a control plane that is gone), not by us."""
    if not _PROC.is_dir():
        return True  # cannot tell; callers fall back to their deadline
    for entry in _PROC.iterdir():
        if entry.name.isdigit():
            info = read_proc(int(entry.name))
            if info is not None and info.process_group == pgid and info.alive:
                return True
    return False
