"""In-flight and completed counts shared by the server's gateway processes (one per core).

With `--gateway-workers N` each process proxies its own share of the requests, but balancing,
draining and the autoscaler must see the sum. One shared-memory segment (created by the main
process, attached by the workers) holds one slot per process, and only that process writes its
slot, so the hot path takes no lock: a count update is a dict lookup and one 8-byte store.
Readers sum the slots of live processes.

A slot is a header plus two tables of int64 columns:

    header     pid (0: no process), fresh (route-table version it covers, server/peers.py),
               used rows of the replica table, used rows of the endpoint table
    replicas   key (replica id), in_flight
    endpoints  key (endpoint id), in_flight, completed (a running total)

The writer sets a row's key while its counts are zero and its counts after, and a reader reads
the counts before the keys: on x86-64 (stores and loads each in order) a count a reader sees
belongs to the key it reads, or to one that replaced it after its count went back to zero.
A replica row is given back as soon as nothing is in flight; an endpoint row stays while its
endpoint is busy or was recently, and the least recently idle one is reused when the table is
full (its completions not yet collected are then lost: more than `capacity` endpoints busy on
one process within a second).

After the slots come the per-token limit table (gateway/token_table.py) and the epoch of the
token lookups each process caches (a revocation on one process ends them on all). The segment
sits in a run directory of its own (beside the processes' metric files, gateway/metrics.py) named
after the main process's pid and start time: a start removes the directories of runs whose main
process is gone (e.g. killed with SIGKILL, which leaves no time to clean up).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from modelport.gateway.token_table import ROWS, AuthEpoch, FileLock, TokenTable, row_words

CAPACITY = 4096  # rows per table per process
_HEADER = 4  # pid, fresh, used replicas, used endpoints
_PID, _FRESH, _USED_R, _USED_E = range(_HEADER)
ClockFn = Callable[[], float]
# Memory-backed files; the segment is created O_EXCL, mode 0600, under a random name.
_SHM = Path("/dev/shm")  # noqa: S108


def _slot_words(capacity: int) -> int:
    return _HEADER + 2 * capacity + 3 * capacity


_GLOBALS = 1  # words after the token table: the auth cache epoch
_RUN_PREFIX = "modelport-run-"  # + main pid, its start time, a random part


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the segment is and how it is cut: all a worker needs to attach."""

    name: str  # the file's path
    slots: int
    capacity: int = CAPACITY
    token_rows: int = ROWS

    @property
    def size(self) -> int:
        tokens = self.token_rows * row_words(self.slots)
        return 8 * (self.slots * _slot_words(self.capacity) + tokens + _GLOBALS)

    @property
    def folder(self) -> Path:
        """The run's directory: the segment and the processes' metric files."""
        return Path(self.name).parent

    @property
    def metrics_folder(self) -> Path:
        """Where each process mirrors its gateway metrics (gateway/metrics.py)."""
        return self.folder / "metrics"


class SharedCounts:
    """The segment: `slots` processes' counts and the token table, a file in /dev/shm mapped by
    every process (the creator removes its run directory with `close(unlink=True)`)."""

    def __init__(self, memory: mmap.mmap, fd: int, layout: Layout) -> None:
        self._memory = memory
        self._fd = fd  # kept open: the token table's lock is an flock on it
        self.layout = layout
        words = memoryview(memory).cast("q")
        size = _slot_words(layout.capacity)
        self._slots = [words[i * size : (i + 1) * size] for i in range(layout.slots)]
        self._token_words = words[layout.slots * size : len(words) - _GLOBALS]
        self._epoch = words[len(words) - _GLOBALS :]

    @classmethod
    def create(cls, slots: int, capacity: int = CAPACITY, token_rows: int = ROWS) -> SharedCounts:
        base = _SHM if _SHM.is_dir() else Path(tempfile.gettempdir())
        remove_stale_runs(base)
        folder = base / f"{_RUN_PREFIX}{os.getpid()}-{_start_time(os.getpid())}-{uuid.uuid4().hex}"
        folder.mkdir(mode=0o700)
        layout = Layout(str(folder / "counts"), slots, capacity, token_rows)
        fd = os.open(layout.name, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        os.ftruncate(fd, layout.size)  # zero-filled
        return cls(mmap.mmap(fd, layout.size), fd, layout)

    @classmethod
    def attach(cls, layout: Layout) -> SharedCounts:
        fd = os.open(layout.name, os.O_RDWR)
        return cls(mmap.mmap(fd, layout.size), fd, layout)

    def close(self, unlink: bool = False) -> None:
        """The mapping itself goes with the last view of it (the process's counters hold some)."""
        with contextlib.suppress(OSError):
            os.close(self._fd)
        if unlink:
            shutil.rmtree(self.layout.folder, ignore_errors=True)

    def auth_epoch(self) -> AuthEpoch:
        """The Authenticator's cache epoch, shared by every process (services/auth.py)."""
        return AuthEpoch(self._epoch, self._fd)

    def tokens(self, slot: int) -> TokenTable:
        """The per-token limit table as the process of `slot` uses it."""
        return TokenTable(self._token_words, self.layout.slots, slot, FileLock(self._fd))

    # --- slot header ------------------------------------------------------------------------
    def claim(self, slot: int, pid: int) -> SlotCounts:
        """This process's slot, zeroed: its counts start from nothing."""
        words = self._slots[slot]
        words[_PID] = 0
        for i in range(1, len(words)):
            words[i] = 0
        words[_PID] = pid
        return SlotCounts(words, self.layout.capacity, self.tokens(slot))

    def clear(self, slot: int) -> None:
        """A process that died: its counts no longer hold anything in flight."""
        words = self._slots[slot]
        words[_PID] = 0
        words[_USED_R] = 0
        words[_USED_E] = 0
        tokens = self.tokens(slot)
        with tokens.lock:
            tokens.clear_slot(slot)

    def pid(self, slot: int) -> int:
        return self._slots[slot][_PID]

    def fresh(self, slot: int) -> int:
        return self._slots[slot][_FRESH]

    def publish_fresh(self, slot: int, version: int) -> None:
        words = self._slots[slot]
        if version > words[_FRESH]:
            words[_FRESH] = version

    def live(self) -> Iterator[int]:
        return (s for s in range(self.layout.slots) if self._slots[s][_PID])

    # --- reads (any process) ------------------------------------------------------------------
    def replica_inflight(self, skip: int | None = None) -> dict[int, int]:
        """Replica id -> requests in flight, summed over live slots (but `skip`)."""
        total: dict[int, int] = {}
        capacity = self.layout.capacity
        for slot in self.live():
            if slot == skip:
                continue
            words = self._slots[slot]
            used = words[_USED_R]
            base = _HEADER
            counts = words[base + capacity : base + capacity + used].tolist()
            keys = words[base : base + used].tolist()
            for key, count in zip(keys, counts, strict=True):
                if count > 0:
                    total[key] = total.get(key, 0) + count
        return total

    def endpoint_rows(self, slot: int) -> list[tuple[int, int, int, int]]:
        """(row, endpoint id, in flight, completed total) of one slot's used rows."""
        capacity = self.layout.capacity
        words = self._slots[slot]
        used = words[_USED_E]
        base = _HEADER + 2 * capacity
        completed = words[base + 2 * capacity : base + 2 * capacity + used].tolist()
        in_flight = words[base + capacity : base + capacity + used].tolist()
        keys = words[base : base + used].tolist()
        return [(row, keys[row], in_flight[row], completed[row]) for row in range(used)]


class _Rows:
    """One table of one slot, written by its owner only: key -> row, rows reused."""

    __slots__ = ("_columns", "_free", "_idle", "_keep", "_rows", "_used_at", "_words", "keys")

    def __init__(self, words: memoryview, base: int, columns: int, capacity: int, used_at: int):
        self._words = words
        self.keys = words[base : base + capacity]
        self._columns = [
            words[base + c * capacity : base + (c + 1) * capacity] for c in range(1, columns)
        ]
        self._used_at = used_at
        self._rows: dict[int, int] = {}
        self._free: list[int] = []
        self._idle: dict[int, None] = {}  # keys with nothing in flight, longest idle first
        self._keep = columns > 2  # rows with a running total stay until their room is needed

    def column(self, index: int) -> memoryview:
        return self._columns[index]

    def row(self, key: int) -> int:
        """The row counting `key` (-1: table full, not counted)."""
        row = self._rows.get(key)
        if row is not None:
            if self._keep:
                self._idle.pop(key, None)
            return row
        if self._free:
            row = self._free.pop()
        elif (used := self._words[self._used_at]) < len(self.keys):
            row = used
            self._words[self._used_at] = used + 1
        elif self._idle:
            old = next(iter(self._idle))
            del self._idle[old]
            row = self._rows.pop(old)
            for column in self._columns:
                column[row] = 0
        else:
            return -1
        self.keys[row] = key
        self._rows[key] = row
        return row

    def idle(self, key: int, row: int) -> None:
        """Nothing of `key` is in flight on this process any more."""
        if self._keep:
            self._idle[key] = None
        else:
            del self._rows[key]
            self._free.append(row)


class SlotCounts:
    """This process's slot: what its balancer and load reporter write."""

    __slots__ = ("_e_done", "_e_flight", "_endpoints", "_r_flight", "_replicas", "tokens")

    def __init__(self, words: memoryview, capacity: int, tokens: TokenTable) -> None:
        self.tokens = tokens  # per-token limits (gateway/limits.py), this process's column
        self._replicas = _Rows(words, _HEADER, 2, capacity, _USED_R)
        self._endpoints = _Rows(words, _HEADER + 2 * capacity, 3, capacity, _USED_E)
        self._r_flight = self._replicas.column(0)
        self._e_flight = self._endpoints.column(0)
        self._e_done = self._endpoints.column(1)

    def replica_started(self, replica_id: int) -> None:
        row = self._replicas.row(replica_id)
        if row >= 0:
            self._r_flight[row] += 1

    def replica_finished(self, replica_id: int) -> None:
        row = self._replicas._rows.get(replica_id)
        if row is not None:
            left = self._r_flight[row] - 1
            self._r_flight[row] = left
            if left <= 0:
                self._replicas.idle(replica_id, row)

    def endpoint_started(self, endpoint_id: int) -> None:
        row = self._endpoints.row(endpoint_id)
        if row >= 0:
            self._e_flight[row] += 1

    def endpoint_finished(self, endpoint_id: int) -> None:
        row = self._endpoints._rows.get(endpoint_id)
        if row is not None:
            left = self._e_flight[row] - 1
            self._e_flight[row] = left
            self._e_done[row] += 1
            if left <= 0:
                self._endpoints.idle(endpoint_id, row)


class PeerView(Mapping[int, int]):
    """Replica in-flight counts of this process plus the other processes', the others' read at
    most every `max_age` seconds (the balancer's view: a few ms old is as good as now)."""

    def __init__(
        self, local: dict[int, int], counts: SharedCounts, slot: int, clock: ClockFn, max_age: float
    ) -> None:
        self._local = local
        self._counts = counts
        self._slot = slot
        self._clock = clock
        self._max_age = max_age
        self._others: dict[int, int] = {}
        self._read_at = float("-inf")

    def refresh(self) -> None:
        now = self._clock()
        if now - self._read_at >= self._max_age:
            self._others = self._counts.replica_inflight(skip=self._slot)
            self._read_at = now

    def get(self, key: int, default: int = 0) -> int:  # type: ignore[override]
        return self._local.get(key, 0) + self._others.get(key, 0) or default

    def __getitem__(self, key: int) -> int:
        return self.get(key)

    def __iter__(self) -> Iterator[int]:
        return iter(set(self._local) | set(self._others))

    def __len__(self) -> int:
        return len(set(self._local) | set(self._others))


def remove_stale_runs(base: Path) -> None:
    """Remove this user's run directories whose main process is gone (same pid and start time:
    a reused pid is not mistaken for it)."""
    for entry in base.glob(f"{_RUN_PREFIX}*"):
        try:
            pid, started = (int(part) for part in entry.name[len(_RUN_PREFIX) :].split("-")[:2])
            if entry.stat().st_uid != os.getuid():
                continue
        except (ValueError, OSError):
            continue
        if _start_time(pid) != started:
            shutil.rmtree(entry, ignore_errors=True)


def _start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (/proc), -1 if there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return -1
    return int(stat.rsplit(")", 1)[1].split()[19])
