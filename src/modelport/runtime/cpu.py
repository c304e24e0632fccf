"""CPU time of a local replica, from Linux's /proc: its leader and every descendant.

A replica's engine may fork workers (a tokenizer pool, a multiprocessing server), so its CPU use
is that of the whole process tree below the leader. The tree is walked through
/proc/<pid>/task/<tid>/children (each thread lists the children it forked), which costs a few
reads per replica, not a scan of every pid on the host.

Each process counts utime + stime (all its threads) plus cutime + cstime (children it has
reaped): a worker's time moves into its parent's cumulative fields when it exits and is waited
for, so the total stays a running counter. Time of a descendant that exits without being reaped
inside the tree (an orphan adopted by init) is lost; the counter then drops, and callers treat a
drop as "no reading" rather than as negative use.
"""

from __future__ import annotations

import os
from pathlib import Path

from modelport.runtime.procinfo import is_same_live_process

_PROC = Path("/proc")
_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_MAX_PROCESSES = 4096  # a runaway fork tree is not walked forever
# Fields after the ")" that closes the command name: [11..14] are fields 14-17 of proc(5):
# utime, stime, cutime, cstime, in clock ticks.
_TIMES = slice(11, 15)


def process_cpu_seconds(pid: int) -> float | None:
    """One process's CPU seconds: its threads' and its reaped children's; None when gone."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()
    if len(fields) < _TIMES.stop:
        return None
    return sum(int(ticks) for ticks in fields[_TIMES]) / _TICKS_PER_SECOND


def children_of(pid: int) -> list[int]:
    """The pids `pid`'s threads forked that still run (or wait to be reaped)."""
    found: list[int] = []
    try:
        tasks = list((_PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue  # the thread ended meanwhile, or no CONFIG_PROC_CHILDREN: leader alone
    return found


def tree_cpu_seconds(pid: int, start_time: int | None) -> float | None:
    """CPU seconds of the process tree led by `pid`, or None when `pid` is not the process that
    started at `start_time` (gone, or the pid reused)."""
    if not is_same_live_process(pid, start_time):
        return None
    total = 0.0
    seen: set[int] = set()
    todo = [pid]
    while todo and len(seen) < _MAX_PROCESSES:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        seconds = process_cpu_seconds(current)
        if seconds is None:
            if current == pid:
                return None  # the leader ended between the check and the read
            continue  # a worker ended meanwhile: its time is in the leader's soon
        total += seconds
        todo.extend(children_of(current))
    return total
