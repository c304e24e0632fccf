"""Per-token limits: the token bucket and the in-flight count, on a fake clock; with several
gateway processes, one server's limits over their shared segment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelport.clock import FakeClock
from modelport.domain.records import ProjectLimits, Role
from modelport.gateway.limits import Refusal, RequestLimiter
from modelport.gateway.shared_counts import SharedCounts
from modelport.services.auth import Principal


def principal(token_id: int = 1, **limits: int | None) -> Principal:
    return Principal(token_id, 1, Role.MEMBER, limits=ProjectLimits(**limits))


def test_a_minutes_worth_then_429_until_the_bucket_refills() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(clock.monotonic)
    caller = principal(requests_per_minute=30)  # one every 2 s
    assert [limiter.admit(caller) for _ in range(30)] == [False] * 30
    refused = limiter.admit(caller)
    assert isinstance(refused, Refusal)
    assert (refused.code, refused.retry_after) == ("rate_limit_exceeded", 2)
    clock.advance(1)
    assert isinstance(limiter.admit(caller), Refusal)  # refusals take nothing from the bucket
    clock.advance(1)
    assert limiter.admit(caller) is False
    assert isinstance(limiter.admit(caller), Refusal)
    # Another token has its own bucket.
    assert limiter.admit(principal(2, requests_per_minute=30)) is False


def test_in_flight_requests_are_capped_and_released() -> None:
    limiter = RequestLimiter(FakeClock().monotonic)
    caller = principal(concurrent_requests=2)
    assert limiter.admit(caller) is True
    assert limiter.admit(caller) is True
    refused = limiter.admit(caller)
    assert isinstance(refused, Refusal)
    assert (refused.code, refused.retry_after) == ("concurrency_limit_exceeded", 1)
    limiter.release(caller)
    assert limiter.in_flight(caller.token_id) == 1
    assert limiter.admit(caller) is True


def test_a_new_limit_starts_with_a_full_bucket_and_keeps_the_in_flight_count() -> None:
    limiter = RequestLimiter(FakeClock().monotonic)
    assert limiter.admit(principal(concurrent_requests=5)) is True
    raised = principal(requests_per_minute=3, concurrent_requests=5)
    assert [limiter.admit(raised) for _ in range(3)] == [True] * 3
    assert isinstance(limiter.admit(raised), Refusal)
    assert limiter.in_flight(1) == 4


# --- several gateway processes: one server's limits, over a real shared segment -------------


@pytest.fixture
def segment() -> Iterator[SharedCounts]:
    counts = SharedCounts.create(2, capacity=4, token_rows=8)
    yield counts
    counts.close(unlink=True)


def process(segment: SharedCounts, slot: int, clock: FakeClock) -> RequestLimiter:
    """The limiter of the process in `slot`, on its own mapping of the segment."""
    return RequestLimiter(clock.monotonic, SharedCounts.attach(segment.layout).tokens(slot))


def test_the_rate_is_the_servers_whichever_process_admits(segment: SharedCounts) -> None:
    clock = FakeClock()
    main, worker = process(segment, 0, clock), process(segment, 1, clock)
    caller = principal(requests_per_minute=4)
    assert [main.admit(caller), worker.admit(caller), main.admit(caller)] == [False] * 3
    assert worker.admit(caller) is False
    for limiter in (main, worker):
        refused = limiter.admit(caller)
        assert isinstance(refused, Refusal) and refused.code == "rate_limit_exceeded"
    clock.advance(15)  # one request's worth
    assert worker.admit(caller) is False
    assert isinstance(main.admit(caller), Refusal)


def test_concurrency_is_summed_over_processes_and_a_dead_one_holds_nothing(
    segment: SharedCounts,
) -> None:
    clock = FakeClock()
    main, worker = process(segment, 0, clock), process(segment, 1, clock)
    caller = principal(concurrent_requests=2)
    assert main.admit(caller) is True
    assert worker.admit(caller) is True
    refused = main.admit(caller)
    assert isinstance(refused, Refusal) and refused.code == "concurrency_limit_exceeded"
    assert main.in_flight(caller.token_id) == 2
    worker.release(caller)
    assert main.admit(caller) is True  # the worker's slot was given back
    segment.clear(0)  # the main process's requests are gone with it (here: as if it died)
    assert worker.in_flight(caller.token_id) == 0


def test_rows_of_idle_tokens_are_reused(segment: SharedCounts) -> None:
    """More limited tokens over time than rows: a token with nothing in flight and a full
    bucket gives its row to another; a token still limited keeps its state."""
    clock = FakeClock()
    main = process(segment, 0, clock)
    busy = principal(100, requests_per_minute=1)
    assert main.admit(busy) is False  # its bucket stays empty for a minute: its row is kept
    for token_id in range(200, 240):  # 8 rows
        caller = principal(token_id, concurrent_requests=1)
        assert main.admit(caller) is True
        main.release(caller)
    assert isinstance(main.admit(busy), Refusal)
