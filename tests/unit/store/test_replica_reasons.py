"""A replica's reason is an enum plus a detail: stored in two columns, read back as the enum,
moved in place for a PENDING replica, and migrated from the old "Reason: detail" text."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from modelport.clock import FakeClock
from modelport.domain.decisions import ReplicaReason
from modelport.domain.errors import Conflict, NotFound
from modelport.domain.records import Endpoint
from modelport.domain.states import ReplicaState
from modelport.store import SqlStore, make_engine
from modelport.store.migrate import MIGRATIONS_DIR
from modelport.store.tables import UtcDateTime
from tests.unit.store.specs import custom_spec

LACKING = "needs 1x H100-80GB; this host has none"


def test_a_new_replica_says_it_was_created(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    assert (replica.reason, replica.detail) == (ReplicaReason.REPLICA_CREATED, "")
    assert replica.state_reason == "ReplicaCreated"


@pytest.mark.parametrize("reason", list(ReplicaReason))
def test_every_reason_round_trips_as_the_enum(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock, reason: ReplicaReason
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    moved = store.transition_replica(
        replica.id,
        ReplicaState.PENDING,
        ReplicaState.FAILED,
        reason=reason,
        detail="why: with a colon",
        now=clock.now(),
    )
    read = store.get_replica(replica.id)
    assert read == moved
    assert read.reason is reason and read.detail == "why: with a colon"
    assert read.state_reason == f"{reason.value}: why: with a colon"


def test_a_pending_replica_gets_a_new_reason_in_place(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    clock.advance(3)
    retry = clock.now() + timedelta(seconds=5)
    held = store.set_pending_reason(
        replica.id,
        reason=ReplicaReason.INSUFFICIENT_CAPACITY,
        detail=LACKING,
        now=clock.now(),
        next_attempt_at=retry,
    )
    assert held.state is ReplicaState.PENDING and held.restart_count == 0
    assert (held.reason, held.detail) == (ReplicaReason.INSUFFICIENT_CAPACITY, LACKING)
    assert held.next_attempt_at == retry and held.state_changed_at == clock.now()
    assert store.get_replica(replica.id) == held


def test_only_a_pending_replica_has_its_reason_moved_in_place(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    started = store.transition_replica(
        replica.id, ReplicaState.PENDING, ReplicaState.STARTING, now=clock.now()
    )
    with pytest.raises(Conflict, match="is starting, not pending"):
        store.set_pending_reason(
            replica.id,
            reason=ReplicaReason.LAUNCH_DEFERRED,
            detail="ports exhausted",
            now=clock.now(),
            next_attempt_at=clock.now(),
        )
    assert store.get_replica(replica.id) == started
    with pytest.raises(NotFound):
        store.set_pending_reason(
            replica.id + 1000,
            reason=ReplicaReason.LAUNCH_DEFERRED,
            detail="ports exhausted",
            now=clock.now(),
            next_attempt_at=clock.now(),
        )


# --- migration 0006: "Reason: detail" text -> reason + detail --------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OLD_TEXTS = {
    "created": (ReplicaReason.REPLICA_CREATED, ""),
    f"InsufficientCapacity: {LACKING}": (ReplicaReason.INSUFFICIENT_CAPACITY, LACKING),
    "ReplicaReady: replica 3 is ready (generation 1)": (
        ReplicaReason.REPLICA_READY,
        "replica 3 is ready (generation 1)",
    ),
    "LaunchDeferred: cannot start: try later": (
        ReplicaReason.LAUNCH_DEFERRED,
        "cannot start: try later",
    ),
    "ReplicaStopped": (ReplicaReason.REPLICA_STOPPED, ""),
    "Unheard: of reason": (None, "Unheard: of reason"),  # no known reason: all of it is detail
    "probe ok": (None, "probe ok"),
    "": (None, ""),
}

_projects = sa.table(
    "projects", sa.column("id"), sa.column("name"), sa.column("created_at", UtcDateTime)
)
_endpoints = sa.table(
    "endpoints",
    *(sa.column(c) for c in ("id", "project_id", "name", "spec", "generation", "desired_state")),
    sa.column("created_at", UtcDateTime),
    sa.column("updated_at", UtcDateTime),
)
_old_replicas = sa.table(
    "replicas",
    *(sa.column(c) for c in ("id", "endpoint_id", "project_id", "generation", "state")),
    sa.column("restart_count"),
    sa.column("state_reason"),
    sa.column("state_changed_at", UtcDateTime),
    sa.column("created_at", UtcDateTime),
)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    made = make_engine(database_url)
    yield made
    made.dispose()


def migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    with engine.connect() as connection:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)
        connection.commit()


def test_old_reason_texts_are_split_once_at_a_known_reason(
    engine: sa.Engine, clock: FakeClock
) -> None:
    migrate(engine, "0005")
    spec = custom_spec().model_dump_json()
    with engine.begin() as conn:
        conn.execute(sa.insert(_projects).values(id=1, name="team-a", created_at=T0))
        conn.execute(
            sa.insert(_endpoints).values(
                id=1,
                project_id=1,
                name="chat",
                spec=spec,
                generation=1,
                desired_state="running",
                created_at=T0,
                updated_at=T0,
            )
        )
        for replica_id, text in enumerate(OLD_TEXTS, start=1):
            conn.execute(
                sa.insert(_old_replicas).values(
                    id=replica_id,
                    endpoint_id=1,
                    project_id=1,
                    generation=1,
                    state="pending",
                    restart_count=0,
                    state_reason=text,
                    state_changed_at=T0,
                    created_at=T0,
                )
            )

    migrate(engine, "0006")
    store = SqlStore(engine, clock)
    got = {r.id: (r.reason, r.detail) for r in store.list_replicas(1)}
    assert got == dict(enumerate(OLD_TEXTS.values(), start=1))

    migrate(engine, "0005", down=True)  # and back: one line of text again
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_old_replicas.c.id, _old_replicas.c.state_reason).order_by("id")
        ).all()
    back = dict(rows)
    assert back[2] == f"InsufficientCapacity: {LACKING}" and back[5] == "ReplicaStopped"
    assert back[1] == "ReplicaCreated"  # "created" said nothing more than that
    assert back[6] == "Unheard: of reason" and back[7] == "probe ok" and back[8] == ""
