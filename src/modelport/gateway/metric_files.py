"""The gateway metrics of several processes, one file pair per process (gateway/metrics.py).

Each process writes every number it changes into its own files in the run's metrics folder, in
prometheus_client's multiprocess file format (a key, then a double value and a timestamp, in an
mmap'd file whose first word says how much is used), and a scrape on any process reads them
all. A number's cell is found once and then written with one 8-byte store: the hot path takes
no lock and makes no call into prometheus_client (its MmapedDict packs and copies per write).

Counters go to `counter_<pid>.db` and stay after the process ends (a counter never goes back);
gauges go to `gauge_<pid>.db`, removed when the process is gone (`process_gone`).
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import struct
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

from prometheus_client import mmap_dict

_mmap: Any = mmap_dict  # its reader of the format; untyped
_COUNTER, _GAUGE = "counter_", "gauge_"  # file name prefixes, + pid + ".db"
_INITIAL_SIZE = 1 << 16
_HEADER = 8  # int32 bytes used, 4 bytes padding


class Kind(StrEnum):
    """What a number is (the first part of its key)."""

    REQUESTS = "requests"  # by endpoint and code
    BUCKET = "bucket"  # a duration bucket's own count (not cumulative), by endpoint and index
    SUM = "sum"  # the durations' sum, by endpoint
    RETRIES = "retries"
    HOLDS = "holds"  # ended holds, by endpoint and outcome
    INFLIGHT = "inflight"  # a gauge: requests being proxied
    HELD = "held"  # a gauge: requests held now


class _NumberFile:
    """One append-only file of numbers, written by this process only."""

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        self._size = _INITIAL_SIZE
        os.ftruncate(self._fd, self._size)
        self._memory = mmap.mmap(self._fd, self._size)
        self._used = _HEADER
        self._publish_used()

    def cell(self, key: str) -> memoryview[float]:
        """A new number at zero: its value's 8 bytes as a one-double view."""
        encoded = key.encode()
        padding = 8 - (len(encoded) + 4) % 8  # the format's: the value lands 8-byte aligned
        entry = struct.pack(f"i{len(encoded) + padding}sdd", len(encoded), encoded, 0.0, 0.0)
        if self._used + len(entry) > self._size:
            # A larger mapping; the old one stays alive under the cells made from it and maps
            # the same pages, so their writes still land in the file.
            self._size *= 2
            os.ftruncate(self._fd, self._size)
            self._memory = mmap.mmap(self._fd, self._size)
        start = self._used
        self._memory[start : start + len(entry)] = entry
        self._used += len(entry)
        self._publish_used()  # after the entry: a reader sees it whole or not at all
        value_at = start + len(entry) - 16
        return memoryview(self._memory)[value_at : value_at + 8].cast("d")

    def _publish_used(self) -> None:
        self._memory[0:4] = struct.pack("i", self._used)


class ProcessFiles:
    """This process's numbers, mirrored into its two files."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(mode=0o700, exist_ok=True)
        pid = os.getpid()
        self._counters = _NumberFile(folder / f"{_COUNTER}{pid}.db")
        self._gauges = _NumberFile(folder / f"{_GAUGE}{pid}.db")
        self._cells: dict[tuple[Kind, str, str], memoryview[float]] = {}

    def count(self, kind: Kind, endpoint: str, extra: str, value: float) -> None:
        cell = self._cells.get((kind, endpoint, extra))
        if cell is None:
            cell = self._new(self._counters, kind, endpoint, extra)
        cell[0] = value

    def gauge(self, kind: Kind, endpoint: str, extra: str, value: float) -> None:
        cell = self._cells.get((kind, endpoint, extra))
        if cell is None:
            cell = self._new(self._gauges, kind, endpoint, extra)
        cell[0] = value

    def _new(self, file: _NumberFile, kind: Kind, endpoint: str, extra: str) -> memoryview[float]:
        cell = self._cells[(kind, endpoint, extra)] = file.cell(json.dumps([kind, endpoint, extra]))
        return cell


def read_numbers(folder: Path) -> Iterator[tuple[Kind, str, str, float]]:
    """Every process's numbers: (kind, endpoint, extra, value), to be summed."""
    for path in sorted(folder.glob("*.db")):
        try:
            values = list(_mmap.MmapedDict.read_all_values_from_file(str(path)))
        except FileNotFoundError:  # a gauge file removed meanwhile: that process is gone
            continue
        for key, value, _timestamp, _pos in values:
            kind, endpoint, extra = json.loads(key)
            yield Kind(kind), endpoint, extra, value


def process_gone(folder: Path, pid: int) -> None:
    """A gateway process ended: its gauges no longer count (its counters still do)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(folder / f"{_GAUGE}{pid}.db")
