"""The `since` a reader of the store's changes asks with (controller ticks, route tables).

Stamps are the writers' clocks, read back from the store, so a reader never compares its own
clock with them. It asks from the newest stamp seen minus OVERLAP, so a write committed late
with a slightly older stamp (or by a host whose clock is a little behind) is still read. But
re-reading that window on every pass made an idle install pay for its last burst forever:
after 9,000 endpoints were created at once, the last 10 s of them (~2,800 rows, each spec
parsed) were read again by every process on every pass until something else changed. So the
window is kept only while the newest stamp moves and for SETTLE seconds (the reader's own
monotonic time) after it last moved; once settled, a pass reads only from the newest stamp on:
a late commit had SETTLE seconds to land inside the window, and a writer's next change stamped
up to SETTLE behind the newest one is still at or after it. The slow full resync catches the
rest, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

OVERLAP = timedelta(seconds=10)
SETTLE = OVERLAP.total_seconds()


class Watermark:
    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self._high: datetime | None = None
        self._moved_at = 0.0

    def saw(self, high_water: datetime | None) -> None:
        """The newest stamp a read found (None: the store has none yet)."""
        if high_water is not None and high_water != self._high:
            self._high = high_water
            self._moved_at = self._monotonic()

    @property
    def since(self) -> datetime | None:
        """What to read changes from; None before any stamp was seen (read everything)."""
        if self._high is None:
            return None
        if self._monotonic() - self._moved_at >= SETTLE:
            return self._high
        return self._high - OVERLAP

    def forget(self) -> None:
        """Start again: the next read is a full one."""
        self._high = None
