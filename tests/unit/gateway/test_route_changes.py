"""The route table on a real store: after one full read, refreshes read only what changed
(endpoints updated, replica states moved, deletions) and rebuild only the projects touched;
routes carry their project's name, and a full resync picks up a renamed project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from modelport.clock import FakeClock
from modelport.domain.records import ReplicaHandle
from modelport.domain.states import DesiredState, ReplicaState
from modelport.gateway.routes import RouteTable
from modelport.store import SqlStore, open_store
from modelport.store.tables import projects
from tests.unit.store.specs import custom_spec

LATER = 60.0  # seconds: past the table's overlap, so only new changes are read


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'routes.db'}", clock)
    yield opened
    opened.close()


def _create(store: SqlStore, project_id: int, name: str) -> int:
    spec = custom_spec(replicas=0)
    return store.create_endpoint(project_id, name, spec, spec.model_dump_json()).id


async def test_incremental_refresh_sees_changes_deletes_and_leaves_the_rest(
    store: SqlStore, clock: FakeClock
) -> None:
    team, other = store.create_project("team"), store.create_project("other")
    a, b = _create(store, team.id, "a"), _create(store, team.id, "b")
    _create(store, other.id, "c")
    table = RouteTable(resync_interval=3600)
    await table.refresh(store)  # the first read is full
    assert [r.name for r in table.endpoints(team.id)] == ["a", "b"]
    assert {r.project_name for r in table.endpoints(team.id)} == {"team"}
    others = table.endpoints(other.id)

    clock.advance(LATER)
    store.update_endpoint(b, expected_generation=None, desired_state=DesiredState.STOPPED)
    await table.refresh(store)
    assert [r.name for r in table.endpoints(team.id)] == ["a"]
    assert table.endpoints(other.id) is others  # an untouched project is not rebuilt

    clock.advance(LATER)
    replica = store.create_replica(a, 1, clock.now())
    store.transition_replica(
        replica.id,
        ReplicaState.PENDING,
        ReplicaState.STARTING,
        now=clock.now(),
        handle=ReplicaHandle(backend="local", host="127.0.0.1", port=9000),
    )
    store.transition_replica(replica.id, ReplicaState.STARTING, ReplicaState.READY,
                             now=clock.now())  # fmt: skip
    await table.refresh(store)
    route = table.lookup(team.id, "a")
    assert route is not None and [t.url for t in route.replicas] == ["http://127.0.0.1:9000"]

    clock.advance(LATER)
    quiet = table.endpoints(team.id)
    await table.refresh(store)  # nothing changed: nothing rebuilt
    assert table.endpoints(team.id) is quiet

    store.delete_endpoint(a)
    await table.refresh(store)
    assert table.lookup(team.id, "a") is None and table.get(a) is None
    assert table.endpoints(team.id) == ()
    assert [r.name for r in table.endpoints(other.id)] == ["c"]


async def test_a_renamed_project_shows_after_a_full_resync(
    store: SqlStore, clock: FakeClock
) -> None:
    team = store.create_project("team")
    _create(store, team.id, "a")
    table = RouteTable(resync_interval=3600)
    await table.refresh(store)
    with store._engine.begin() as conn:  # no API renames projects yet; the store is the truth
        conn.execute(update(projects).where(projects.c.id == team.id).values(name="renamed"))
    clock.advance(LATER)
    await table.refresh(store)
    assert table.endpoints(team.id)[0].project_name == "team"  # not a change it follows
    table.resync_soon()
    await table.refresh(store)
    assert table.endpoints(team.id)[0].project_name == "renamed"
