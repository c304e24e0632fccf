"""Per-token limit state shared by the server's gateway processes (gateway/limits.py decides).

One table of int64 rows, a row per token recently limited:

    key (token id + 1; 0: never used), per_minute (the rate the bucket was filled for, 0: none),
    tokens (the bucket, in millionths of a request), refilled (monotonic ns of the last refill),
    in_flight[slot] for each gateway process

A token's rate is one bucket for the whole server (a token bucket cannot be split into
per-process parts that sum: its refill stops when full), so a check reads and writes the row
under a cross-process lock (flock on the segment: a few microseconds, taken only for tokens
whose project sets a limit). A token's in-flight count is the sum of its per-process columns,
each written only by its process: a process that dies is cleared from its column
(`SharedCounts.clear`), so nothing it had in flight stays counted.

Rows live at `key % rows` and after (linear probing). A key is never erased, only replaced by
another when its row is reusable (nothing in flight, bucket full: the same as no row), so a key,
when present, lies before the first never-used row of its probe sequence; a lookup without the
lock (a release) finds its row, which cannot be reused while its request is in flight.
"""

from __future__ import annotations

import contextlib
import fcntl
import mmap
from contextlib import AbstractContextManager

ROWS = 4096  # tokens with limits active at once (a full table admits unlimited: logged)
_KEY, _PER_MINUTE, _TOKENS, _REFILLED, _IN_FLIGHT = range(5)
UNIT = 1_000_000  # bucket tokens are counted in millionths of a request


def row_words(slots: int) -> int:
    return _IN_FLIGHT + slots


class FileLock:
    """An exclusive flock on an open file of this process (each process opens its own, so the
    lock excludes the other processes; the kernel drops it with a process that dies)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def __enter__(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


class AuthEpoch:
    """One word every process reads per cached token lookup and any advances (rarely: a token
    revoked, a project's limits changed) under the segment's lock, so no advance is lost."""

    __slots__ = ("_fd", "_word")

    def __init__(self, word: memoryview, fd: int) -> None:
        self._word = word
        self._fd = fd

    def read(self) -> int:
        return self._word[0]

    def advance(self) -> None:
        with FileLock(self._fd):
            self._word[0] += 1


class TokenTable:
    """The table as one process sees it: `slot` is the in-flight column it writes."""

    def __init__(
        self,
        words: memoryview,
        slots: int,
        slot: int,
        lock: AbstractContextManager[None],
    ) -> None:
        self._words = words
        self._width = row_words(slots)
        self._rows = len(words) // self._width
        self._slots = slots
        self._slot = slot
        self.lock = lock  # `with table.lock:` around every read-modify-write of a row
        self._known: dict[int, int] = {}  # token id -> the row it had (checked on use)

    @classmethod
    def private(cls, rows: int = ROWS) -> TokenTable:
        """One process's table (no other process to share with, so no lock)."""
        memory = mmap.mmap(-1, 8 * rows * row_words(1))
        return cls(memoryview(memory).cast("q"), 1, 0, contextlib.nullcontext())

    # --- rows -----------------------------------------------------------------------------------
    def find(self, token_id: int) -> int:
        """The token's row, or -1."""
        words, width, rows, key = self._words, self._width, self._rows, token_id + 1
        row = self._known.get(token_id, -1)
        if row >= 0 and words[row * width + _KEY] == key:
            return row
        start = key % rows
        for step in range(rows):
            row = (start + step) % rows
            found = words[row * width + _KEY]
            if found == key:
                self._known[token_id] = row
                return row
            if found == 0:
                return -1
        return -1

    def claim(self, token_id: int, per_minute: int, now_ns: int) -> int:
        """The token's row, taking a reusable one if it has none (-1: none free). Under the lock."""
        row = self.find(token_id)
        if row >= 0:
            return row
        words, width, rows, key = self._words, self._width, self._rows, token_id + 1
        start = key % rows
        spare = -1
        for step in range(rows):
            row = (start + step) % rows
            found = words[row * width + _KEY]
            if found == 0:
                spare = row if spare < 0 else spare
                break
            if spare < 0 and self._reusable(row, now_ns):
                spare = row
        if spare >= 0:
            words[spare * width + _KEY] = key
            self.fill(spare, per_minute, now_ns)
            if len(self._known) > rows:  # ids of tokens long gone: start again
                self._known.clear()
            self._known[token_id] = spare
        return spare

    def _reusable(self, row: int, now_ns: int) -> bool:
        base = row * self._width
        words = self._words
        if any(words[base + _IN_FLIGHT : base + _IN_FLIGHT + self._slots]):
            return False
        per_minute = words[base + _PER_MINUTE]
        return per_minute == 0 or self.tokens(row, per_minute, now_ns) >= per_minute * UNIT

    # --- the bucket (under the lock) ------------------------------------------------------------
    def per_minute(self, row: int) -> int:
        return self._words[row * self._width + _PER_MINUTE]

    def fill(self, row: int, per_minute: int, now_ns: int) -> None:
        """A full bucket for `per_minute` (a new row, or the limit changed)."""
        base = row * self._width
        self._words[base + _PER_MINUTE] = per_minute
        self._words[base + _TOKENS] = per_minute * UNIT
        self._words[base + _REFILLED] = now_ns

    def tokens(self, row: int, per_minute: int, now_ns: int) -> int:
        """The bucket refilled up to now, in millionths (not written back)."""
        base = row * self._width
        elapsed = max(0, now_ns - self._words[base + _REFILLED])
        # per_minute * UNIT per 60e9 ns = per_minute / 60_000 millionths per ns
        refill = elapsed * per_minute // 60_000
        return min(per_minute * UNIT, self._words[base + _TOKENS] + refill)

    def set_tokens(self, row: int, tokens: int, now_ns: int) -> None:
        base = row * self._width
        self._words[base + _TOKENS] = tokens
        self._words[base + _REFILLED] = now_ns

    # --- in flight --------------------------------------------------------------------------------
    def in_flight(self, row: int) -> int:
        """Summed over every process (a dead one's column is cleared)."""
        base = row * self._width + _IN_FLIGHT
        return sum(self._words[base : base + self._slots])

    def started(self, row: int) -> None:
        self._words[row * self._width + _IN_FLIGHT + self._slot] += 1

    def finished(self, row: int) -> None:
        at = row * self._width + _IN_FLIGHT + self._slot
        if self._words[at] > 0:
            self._words[at] -= 1

    def clear_slot(self, slot: int) -> None:
        """A process that died: nothing it admitted is in flight any more. Under the lock."""
        words, width = self._words, self._width
        for row in range(self._rows):
            words[row * width + _IN_FLIGHT + slot] = 0
