"""Server loads in the store: one row per server, replaced by each write, read back typed,
withdrawn by a server that stops and pruned once silent (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from modelport.clock import FakeClock
from modelport.store import SqlStore
from modelport.store.loads import EndpointLoad, ServerLoad

BUSY = ServerLoad(
    endpoints=(EndpointLoad(endpoint_id=7, in_flight=2, held=1, completed=5, since=3),),
    replicas={11: 1, 12: 1},
)


def test_a_write_replaces_the_servers_row_and_reads_back_typed(
    store: SqlStore, clock: FakeClock
) -> None:
    store.publish_load("server-a", 1, ServerLoad(), clock.now())
    clock.advance(1)
    store.publish_load("server-a", 2, BUSY, clock.now())
    store.publish_load("server-b", 1, ServerLoad(), clock.now())

    rows = {row.server: row for row in store.server_loads()}
    assert set(rows) == {"server-a", "server-b"}
    assert rows["server-a"].seq == 2
    assert rows["server-a"].updated_at == clock.now()
    assert rows["server-a"].load == BUSY
    assert rows["server-a"].load.replicas == {11: 1, 12: 1}  # int keys survive the JSON
    assert BUSY.busy and not rows["server-b"].load.busy


def test_withdraw_and_prune(store: SqlStore, clock: FakeClock) -> None:
    store.publish_load("gone-long-ago", 1, BUSY, clock.now())
    clock.advance(600)
    store.publish_load("server-a", 1, BUSY, clock.now())
    store.publish_load("server-b", 1, BUSY, clock.now())

    assert store.prune_loads(clock.now() - timedelta(seconds=300)) == 1
    store.withdraw_load("server-b")
    store.withdraw_load("never-published")  # nothing to do, no error
    assert [row.server for row in store.server_loads()] == ["server-a"]
