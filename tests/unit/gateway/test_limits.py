"""Per-token limits: the token bucket and the in-flight count, on a fake clock."""

from __future__ import annotations

from modelport.clock import FakeClock
from modelport.domain.records import ProjectLimits, Role
from modelport.gateway.limits import Refusal, RequestLimiter
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
