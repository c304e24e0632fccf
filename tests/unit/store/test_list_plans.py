"""Every endpoint list reads through an index, on SQLite and PostgreSQL: the statements the real
code paths send (the native list's first and deep keyset pages and its filters, each dialect's
numbered page and total, the vendor-id lookups, the async workers' read) are captured as sent
and EXPLAINed. A plan that walks all of `endpoints` or `replicas` fails the test.

PostgreSQL's planner prefers a sequential scan of a small table whatever its indexes, so its
plans are taken with `enable_seqscan = off`: a sequential scan left in the plan means no index
could serve the query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, event

from modelport.clock import FakeClock
from modelport.dialects import listing
from modelport.domain.records import Role
from modelport.domain.specs import Framework
from modelport.domain.states import DesiredState
from modelport.security.secrets import SecretBox
from modelport.services.auth import Authenticator, Principal
from modelport.services.endpoint_pages import PageQuery
from modelport.services.endpoints import EndpointService
from modelport.services.tokens import mint_token
from modelport.store import SqlStore
from modelport.store.engine import make_engine
from modelport.store.migrate import upgrade_to_head
from modelport.store.paging import EndpointFilter
from tests.support.postgres import postgres_server
from tests.unit.store.specs import custom_spec

__all__ = ["postgres_server"]

ENDPOINTS_PER_PROJECT = 120  # more than one batch of a 100-row page
# A plan step that reads a whole table (or walks a whole index of it: "SCAN t USING INDEX").
_SQLITE_FULL = re.compile(r"^SCAN (endpoints|replicas|invocations)\b")
_LISTED_TABLES = ("endpoints", "replicas", "invocations")
_LISTED = re.compile(r"\bFROM (endpoints|replicas|invocations)\b")


@dataclass
class Recorder:
    """The SELECTs on endpoints or replicas sent while `recording` is set."""

    recording: bool = False
    sent: list[tuple[str, Any]] = field(default_factory=list)

    def __call__(self, _conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        selects = statement.lstrip().upper().startswith("SELECT")
        if self.recording and selects and _LISTED.search(statement):
            self.sent.append((statement, params))

    def capture(self, action: Callable[[], object]) -> list[tuple[str, Any]]:
        self.sent.clear()
        self.recording = True
        try:
            action()
        finally:
            self.recording = False
        assert self.sent, "the action read no endpoints"
        return list(self.sent)


@dataclass
class Scene:
    engine: Engine
    store: SqlStore
    endpoints: EndpointService
    admin: Principal
    scoped: Principal  # an inference key of one endpoint
    recorder: Recorder
    ids: list[int]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def scene(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    """One populated store per database for the module: the reads change nothing."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('plans') / 'modelport.db'}"
    else:
        url = request.getfixturevalue("postgres_server").create_database()
    engine = make_engine(url)
    upgrade_to_head(engine)
    clock = FakeClock()
    store = SqlStore(engine, clock)
    ours, other = store.create_project("team-a"), store.create_project("team-b")
    ids: list[int] = []
    origins = (None, "tir", "deepinfra", "tensormesh")
    for project in (ours, other):
        for i in range(ENDPOINTS_PER_PROJECT):
            origin = origins[i % len(origins)]
            spec = custom_spec().model_copy(
                update={"extensions": {origin: _vendor_ids(i)} if origin else {}}
            )
            made = store.create_endpoint(project.id, f"ep-{i}", spec, spec.model_dump_json())
            if project is ours:
                ids.append(made.id)
    authenticator = Authenticator(store, clock)
    admin = authenticator.authenticate(
        f"Bearer {mint_token(store, ours.id, 'admin', Role.ADMIN)[1]}"
    )
    key = mint_token(store, ours.id, "key", Role.VIEWER, endpoint_id=ids[7])[1]
    recorder = Recorder()
    event.listen(engine, "before_cursor_execute", recorder)
    service = EndpointService(store, SecretBox(Fernet.generate_key()), clock, "http://gw")
    yield Scene(
        engine, store, service, admin, authenticator.authenticate(f"Bearer {key}"), recorder, ids
    )
    event.remove(engine, "before_cursor_execute", recorder)
    engine.dispose()


def full_scans(engine: Engine, statement: str, params: Any) -> list[str]:
    """The plan's steps that read all of endpoints or replicas."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            return [row[3] for row in rows if _SQLITE_FULL.match(row[3])]
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).scalar_one()
        return [f"{n['Node Type']} on {n['Relation Name']}" for n in _nodes(plan[0]["Plan"])]


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The PostgreSQL plan's nodes that read all of endpoints or replicas: a sequential scan,
    or an index walked end to end (an index scan without an index condition)."""
    if node.get("Relation Name") in _LISTED_TABLES:
        walked = node["Node Type"] in ("Index Scan", "Index Only Scan") and "Index Cond" not in node
        if node["Node Type"] == "Seq Scan" or walked:
            yield node
    for child in node.get("Plans", ()):
        yield from _nodes(child)


def _native_pages(s: Scene) -> None:
    first = s.endpoints.page(s.admin, PageQuery())
    assert len(first.items) == 100 and first.next_after is not None
    deep = s.endpoints.page(s.admin, PageQuery(limit=10, after_id=s.ids[-15]))
    assert [i.endpoint.id for i in deep.items] == s.ids[-14:-4]


def _native_filters(s: Scene) -> None:
    for where in (
        EndpointFilter(name_prefix="ep-1"),
        EndpointFilter(desired=DesiredState.RUNNING),
        EndpointFilter(framework=Framework.CUSTOM),
        EndpointFilter(origin=""),
    ):
        assert s.endpoints.page(s.admin, PageQuery(limit=20, where=where)).items


def _numbered(origin: str | None) -> Callable[[Scene], None]:
    """A dialect's numbered page with its total (TIR: every endpoint; others: their own)."""

    def read(s: Scene) -> None:
        where = EndpointFilter(origin=origin)
        window = listing.Window.numbered(2, 20)
        found = listing.page_of(s.endpoints, s.admin, where, window, count=True)
        assert found.items and found.total

    return read


def _filtered_by_status(s: Scene) -> None:
    """DeepInfra's status filter: judged on keyset batches of its own endpoints."""
    where = EndpointFilter(origin="deepinfra")
    found = listing.page_of(s.endpoints, s.admin, where, listing.Window(5, 5), match=lambda _: True)
    assert len(found.items) == 5 and found.more


def _vendor_ids(i: int) -> dict[str, str]:
    """Endpoint i's extension: DeepInfra's and Tensormesh's id fields (each reads its own)."""
    return {"deploy_id": f"d{i}", "modelId": f"m{i}"}


def _lookups(s: Scene) -> None:
    assert s.endpoints.get_by_id(s.admin, s.ids[50]) is not None
    made = list(s.endpoints.scan(s.admin, EndpointFilter(origin="tensormesh")))
    assert len(made) == ENDPOINTS_PER_PROJECT // 4
    _vendor_lookups(s)


VENDOR_LOOKUPS = (  # (dialect, the id its client sends, the endpoint it names)
    ("deepinfra", "d2", "ep-2"),
    ("tensormesh", "m3", "ep-3"),
)


def _vendor_lookups(s: Scene) -> None:
    for origin, vendor_id, name in VENDOR_LOOKUPS:
        where = EndpointFilter(origin=origin, vendor_id=vendor_id)
        assert [e.name for e in s.endpoints.scan(s.admin, where)] == [name]


def _scoped(s: Scene) -> None:
    assert [i.endpoint.id for i in s.endpoints.page(s.scoped, PageQuery()).items] == [s.ids[7]]
    assert s.endpoints.count(s.scoped) == 1


def _workers(s: Scene) -> None:
    """The async workers read only the endpoints that have work queued, by id."""
    assert len(s.store.get_endpoints(s.ids[:3])) == 3


READS: dict[str, Callable[[Scene], None]] = {
    "native first and deep keyset pages": _native_pages,
    "native filters": _native_filters,
    "tir page_no / per_page with total": _numbered(None),
    "deepinfra limit / offset": _numbered("deepinfra"),
    "tensormesh page / size with total": _numbered("tensormesh"),
    "deepinfra status filter": _filtered_by_status,
    "vendor id lookups": _lookups,
    "endpoint-scoped token": _scoped,
    "async workers": _workers,
    "async backlog (every tick)": lambda s: s.store.invocation_backlog(None),
}


@pytest.mark.parametrize("read", list(READS), ids=list(READS))
def test_the_list_reads_use_an_index(scene: Scene, read: str) -> None:
    sent = scene.recorder.capture(lambda: READS[read](scene))
    scans = {statement: full_scans(scene.engine, statement, params) for statement, params in sent}
    assert not {s: steps for s, steps in scans.items() if steps}


def test_a_vendor_id_lookup_reads_one_index_entry(scene: Scene) -> None:
    """DeepInfra's deploy_id and Tensormesh's modelId are found through the index on them,
    not by reading every endpoint the dialect made in the project (what _find did before)."""
    sent = scene.recorder.capture(lambda: _vendor_lookups(scene))
    for statement, params in sent:
        assert "vendor_id" in index_conditions(scene.engine, statement, params), statement


def index_conditions(engine: Engine, statement: str, params: Any) -> str:
    """What the plan looks rows up by through an index (SQLite: the SEARCH steps; PostgreSQL:
    every Index Cond)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
            return " ".join(row[3] for row in rows if row[3].startswith("SEARCH endpoints"))
        # With statistics, as a live database has them (autovacuum): without, the planner
        # guesses every equality alike and takes the smaller (project, origin, id) index.
        conn.exec_driver_sql("ANALYZE endpoints")
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params).scalar_one()
        return " ".join(_conditions(plan[0]["Plan"]))


def _conditions(node: dict[str, Any]) -> Iterator[str]:
    if "Index Cond" in node:
        yield node["Index Cond"]
    for child in node.get("Plans", ()):
        yield from _conditions(child)


def test_the_check_sees_a_full_scan(scene: Scene) -> None:
    """The detector itself: a list of every endpoint (what the dialects used to read) fails."""
    sent = scene.recorder.capture(lambda: scene.store.list_endpoints(None))
    assert any(full_scans(scene.engine, statement, params) for statement, params in sent)
