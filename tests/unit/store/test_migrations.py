from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from modelport.clock import FakeClock
from modelport.domain.records import Endpoint
from modelport.store import make_engine, open_store
from modelport.store.migrate import upgrade_to_head
from modelport.store.tables import metadata
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
