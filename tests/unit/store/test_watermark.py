"""The watermark a reader of the store's changes asks from: the newest stamp seen minus the
overlap while stamps move, the newest stamp once they have settled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from modelport.clock import FakeClock
from modelport.store.watermark import OVERLAP, SETTLE, Watermark

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_nothing_seen_reads_everything_and_a_stamp_opens_the_overlap() -> None:
    clock = FakeClock()
    mark = Watermark(clock.monotonic)
    assert mark.since is None
    mark.saw(None)  # an empty store: still nothing to ask from
    assert mark.since is None
    mark.saw(T0)
    assert mark.since == T0 - OVERLAP


def test_the_overlap_closes_once_the_newest_stamp_stays_for_settle_seconds() -> None:
    clock = FakeClock()
    mark = Watermark(clock.monotonic)
    mark.saw(T0)
    clock.advance(SETTLE - 0.5)
    mark.saw(T0)  # read again, unchanged: the settle time runs from when it last moved
    assert mark.since == T0 - OVERLAP
    clock.advance(0.5)
    assert mark.since == T0
    later = T0 + timedelta(seconds=3)
    mark.saw(later)  # a new change: its overlap is read again until it settles
    assert mark.since == later - OVERLAP
    clock.advance(SETTLE)
    assert mark.since == later


def test_forget_makes_the_next_read_a_full_one() -> None:
    clock = FakeClock()
    mark = Watermark(clock.monotonic)
    mark.saw(T0)
    mark.forget()
    assert mark.since is None
