"""Replica choice: least outstanding requests, even spread on ties, passive ejection."""

from __future__ import annotations

from collections import Counter

import pytest

from modelport.clock import FakeClock
from modelport.gateway.balancing import Balancer, LeastOutstanding, RoundRobin, make_policy
from modelport.gateway.routes import ReplicaTarget

REPLICAS = tuple(ReplicaTarget(i, f"http://127.0.0.1:{9000 + i}") for i in (1, 2, 3))


def test_picks_the_replica_with_fewest_requests_in_flight() -> None:
    balancer = Balancer()
    balancer.acquire(1)
    balancer.acquire(1)
    balancer.acquire(2)
    for _ in range(5):
        chosen = balancer.pick(REPLICAS)
        assert chosen is not None and chosen.replica_id == 3


def test_ties_spread_across_replicas() -> None:
    balancer = Balancer()
    picks: Counter[int] = Counter()
    for _ in range(300):
        chosen = balancer.pick(REPLICAS)
        assert chosen is not None
        picks[chosen.replica_id] += 1
    assert picks == {1: 100, 2: 100, 3: 100}


def test_concurrent_requests_fill_replicas_evenly() -> None:
    balancer = Balancer()
    for _ in range(9):
        chosen = balancer.pick(REPLICAS)
        assert chosen is not None
        balancer.acquire(chosen.replica_id)
    assert [balancer.inflight(r.replica_id) for r in REPLICAS] == [3, 3, 3]


def test_inflight_counts_up_and_back_to_zero() -> None:
    balancer = Balancer()
    balancer.acquire(7)
    balancer.acquire(7)
    assert balancer.inflight(7) == 2
    balancer.release(7)
    balancer.release(7)
    assert balancer.inflight(7) == 0
    assert balancer.inflight(8) == 0


def test_excluded_replicas_are_not_picked_and_none_when_all_tried() -> None:
    balancer = Balancer()
    chosen = balancer.pick(REPLICAS, exclude={1, 3})
    assert chosen is not None and chosen.replica_id == 2
    assert balancer.pick(REPLICAS, exclude={1, 2, 3}) is None
    assert balancer.pick(()) is None


def test_ejected_replica_is_skipped_until_the_ejection_expires() -> None:
    clock = FakeClock()
    balancer = Balancer(clock=clock, eject_seconds=3)
    balancer.eject(1)
    picked = {balancer.pick(REPLICAS).replica_id for _ in range(20)}  # type: ignore[union-attr]
    assert picked == {2, 3}
    clock.advance(3.1)
    picked = {balancer.pick(REPLICAS).replica_id for _ in range(20)}  # type: ignore[union-attr]
    assert picked == {1, 2, 3}


def test_ejected_replicas_are_still_used_when_nothing_else_is_left() -> None:
    balancer = Balancer(clock=FakeClock())
    for replica in REPLICAS:
        balancer.eject(replica.replica_id)
    assert balancer.pick(REPLICAS) is not None


def test_policies_are_registered_by_name() -> None:
    assert isinstance(make_policy(), LeastOutstanding)
    assert isinstance(make_policy("round_robin"), RoundRobin)
    with pytest.raises(ValueError, match="unknown load-balancing policy"):
        make_policy("fastest")


def test_round_robin_ignores_load() -> None:
    balancer = Balancer("round_robin")
    balancer.acquire(1)
    balancer.acquire(1)
    picks = Counter(balancer.pick(REPLICAS).replica_id for _ in range(30))  # type: ignore[union-attr]
    assert picks == {1: 10, 2: 10, 3: 10}
