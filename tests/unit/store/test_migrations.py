from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, select

from modelport.clock import FakeClock
from modelport.domain.records import Endpoint, EventLevel
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState
from modelport.store import SqlStore, make_engine, open_store
from modelport.store.migrate import MIGRATIONS_DIR, upgrade_to_head
from modelport.store.tables import endpoints, metadata
from tests.unit.store.specs import custom_spec


def test_reopening_keeps_data_and_does_not_remigrate(database_url: str, clock: FakeClock) -> None:
    first = open_store(database_url, clock)
    project = first.create_project("kept")
    spec = custom_spec(replicas=2)
    endpoint: Endpoint = first.create_endpoint(project.id, "chat", spec, spec.model_dump_json())
    first.close()

    second = open_store(database_url, clock)
    third = open_store(database_url, clock)  # two stores on one database at once
    try:
        assert second.get_project_by_name("kept") == project
        assert second.get_endpoint(project.id, endpoint.id) == endpoint
        assert third.list_endpoints() == [endpoint]
        second.create_project("more")
        assert [p.name for p in third.list_projects()] == ["kept", "more"]
    finally:
        second.close()
        third.close()


def test_migrations_build_exactly_the_declared_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        upgrade_to_head(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def engine_at(url: str, revision: str) -> Engine:
    """A database migrated only up to `revision`: what an older Modelport left."""
    engine = make_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.commit()
    return engine


def test_ids_are_never_reused_and_upgrading_keeps_every_row(tmp_path: Path) -> None:
    """A database made before 0015 (tables rebuilt without AUTOINCREMENT) upgrades in place:
    replicas and events of its endpoints survive the table rebuild, and the id of the newest
    endpoint, deleted before the upgrade, is not given to the next one."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = engine_at(url, "0014")
    clock = FakeClock()
    old = SqlStore(engine, clock)
    project = old.create_project("p")
    spec = custom_spec()
    kept = endpoint_as_of_0014(engine, project.id, "kept", spec.model_dump_json(), clock)
    replica = old.create_replica(kept.id, kept.generation, clock.now())
    old.add_event(kept.id, level=EventLevel.INFO, reason="Test", message="m", now=clock.now())
    newest = endpoint_as_of_0014(engine, project.id, "newest", spec.model_dump_json(), clock)
    old.delete_endpoint(newest.id)
    old.close()

    store = open_store(url, clock)
    try:
        assert [r.id for r in store.list_replicas_of([kept.id])] == [replica.id]
        assert [e.reason for e in store.list_events(kept.id)] == ["Test"]
        again = store.create_endpoint(project.id, "newest", spec, spec.model_dump_json())
        assert again.id > newest.id
        store.delete_endpoint(again.id)
        third = store.create_endpoint(project.id, "third", spec, spec.model_dump_json())
        assert third.id > again.id
    finally:
        store.close()


def test_every_table_declared_autoincrement_has_it_after_migrating(tmp_path: Path) -> None:
    """compare_metadata does not see AUTOINCREMENT; a batch migration that rebuilds a table
    drops it silently (that is how ids came to be reused before 0015)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade_to_head(engine)
        with engine.connect() as conn:
            ddl = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master").all())
    finally:
        engine.dispose()
    declared = [
        t.name for t in metadata.sorted_tables if t.dialect_kwargs.get("sqlite_autoincrement")
    ]
    assert len(declared) >= 8
    assert [name for name in declared if "AUTOINCREMENT" not in ddl[name]] == []


_OLD_ROW: dict[str, object] = {
    "generation": 1,
    "template_generation": 1,
    "desired_state": "running",
}


def endpoint_as_of_0014(
    engine: Engine, project_id: int, name: str, spec_json: str, clock: FakeClock
) -> Endpoint:
    """An endpoint row as a store of 0012..0016 wrote it: today's store writes (and reads back)
    columns later migrations add, which that schema lacks."""
    now = clock.now()
    row = {"project_id": project_id, "name": name, "spec": spec_json, "created_at": now}
    with engine.begin() as conn:
        made = conn.execute(
            insert(endpoints).values(**_OLD_ROW, **row, updated_at=now).returning(endpoints.c.id)
        ).scalar_one()
    spec = EndpointSpec.model_validate_json(spec_json)
    return Endpoint(
        id=made, project_id=project_id, name=name, spec=spec, generation=1,
        template_generation=1, desired_state=DesiredState.RUNNING, created_at=now, updated_at=now,
    )  # fmt: skip


def test_upgrading_to_0017_fills_each_dialect_endpoints_vendor_id(tmp_path: Path) -> None:
    """Endpoints made by DeepInfra and Tensormesh before 0017 get their deploy_id / modelId in
    the indexed column (lookups read only it); native ones and other dialects' get none."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = engine_at(url, "0016")
    clock = FakeClock()
    old = SqlStore(engine, clock)
    project = old.create_project("p")
    old.close()
    made = {
        "di": {"deepinfra": {"deploy_id": "aB3dE5gH7j", "model_name": "org/m"}},
        "tm": {"tensormesh": {"modelId": "6f1c2b9e-0d4a-4c1e-9b7a-1f2e3d4c5b6a"}},
        "tir": {"tir": {"deploy_id": "not-a-vendor-id"}},
        "native": {},
    }
    for name, extensions in made.items():
        spec = custom_spec().model_copy(update={"extensions": extensions})
        with engine.begin() as conn:  # with the derived columns 0012 fills
            conn.execute(
                insert(endpoints).values(
                    **_OLD_ROW, project_id=project.id, name=name, spec=spec.model_dump_json(),
                    created_at=clock.now(), updated_at=clock.now(), framework="custom",
                    origin=next(iter(extensions), None), autoscaled=False,
                )
            )  # fmt: skip

    open_store(url, clock).close()  # upgrades
    with engine.connect() as conn:
        found = dict(conn.execute(select(endpoints.c.name, endpoints.c.vendor_id)).all())
    engine.dispose()
    assert found == {
        "di": "aB3dE5gH7j",
        "tm": "6f1c2b9e-0d4a-4c1e-9b7a-1f2e3d4c5b6a",
        "tir": None,
        "native": None,
    }
