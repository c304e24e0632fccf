"""The endpoint summary names the nodes its live replicas run on (`modelport ls` NODES)."""

from __future__ import annotations

from modelport.domain.records import Replica
from modelport.domain.states import ReplicaState
from modelport.services.endpoint_views import endpoint_public
from tests.unit.domain.records import endpoint, replica


def on(id: int, state: ReplicaState, node: str | None) -> Replica:
    r = replica(id, state)
    assert r.handle is not None
    return r.model_copy(update={"handle": r.handle.model_copy(update={"node": node})})


def test_nodes_of_live_replicas_each_once_sorted() -> None:
    replicas = [
        on(1, ReplicaState.READY, "w2"),
        on(2, ReplicaState.STARTING, "w1"),
        on(3, ReplicaState.READY, "w2"),
        on(4, ReplicaState.FAILED, "w3"),  # not running there any more
        replica(5, ReplicaState.PENDING),  # not placed yet
    ]
    public = endpoint_public(endpoint(5), replicas, "http://gw")
    assert public.nodes == ["w1", "w2"]


def test_replicas_on_the_servers_own_host_name_no_node() -> None:
    public = endpoint_public(endpoint(1), [on(1, ReplicaState.READY, None)], "http://gw")
    assert public.nodes == []
