"""EndpointService: the lifecycle rules every API dialect relies on."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from modelport.domain.errors import Conflict, Forbidden, InvalidSpec, NotFound, Unauthorized
from modelport.domain.records import ReplicaHandle
from modelport.domain.states import DesiredState, EndpointPhase, ReplicaState
from modelport.security.secrets import REDACTED
from modelport.services.endpoint_pages import PageQuery
from modelport.services.spec_secrets import engine_environment
from modelport.store.paging import EndpointFilter
from tests.unit.services.harness import GATEWAY, SECRET_VALUE, World, web_spec


def reasons(world: World, endpoint_id: int) -> list[str]:
    return [e.reason for e in world.store.list_events(endpoint_id)]


def test_create_mints_an_inference_key_for_that_endpoint_only(world: World):
    endpoint, key = world.endpoints.create(world.principal("member"), "web", web_spec())
    assert key is not None
    scoped = world.authenticator.authenticate(f"Bearer {key}")
    assert scoped.endpoint_id == endpoint.id
    assert scoped.project_id == world.project.id
    assert endpoint.generation == 1
    assert endpoint.desired_state is DesiredState.RUNNING
    assert reasons(world, endpoint.id) == ["EndpointCreated"]


def test_create_is_idempotent_for_the_same_spec_even_with_secrets(world: World):
    admin = world.principal("admin")
    first, key = world.endpoints.create(admin, "web", web_spec(secret=SECRET_VALUE))
    again, no_key = world.endpoints.create(admin, "web", web_spec(secret=SECRET_VALUE))
    assert again.id == first.id
    assert key is not None and no_key is None
    # Another secret value answers the same (no oracle on the stored secret) and keeps it.
    other, _ = world.endpoints.create(admin, "web", web_spec(secret="another-value"))
    assert other.id == first.id
    stored = world.store.get_endpoint_by_name(world.project.id, "web")
    assert engine_environment(stored.spec, world.box) == {"API_SECRET": SECRET_VALUE}
    with pytest.raises(Conflict) as exc:
        world.endpoints.create(admin, "web", web_spec(replicas=2, secret=SECRET_VALUE))
    assert exc.value.field == "name"


def test_create_rejects_a_name_that_is_not_a_dns_label(world: World):
    with pytest.raises(InvalidSpec) as exc:
        world.endpoints.create(world.principal("admin"), "Bad_Name", web_spec())
    assert exc.value.field == "name"


def test_secrets_are_stored_encrypted_and_unsealed_for_the_engine(world: World):
    endpoint, _ = world.endpoints.create(
        world.principal("admin"), "web", web_spec(secret=SECRET_VALUE)
    )
    raw = sqlite3.connect(world.db_path).execute("SELECT spec FROM endpoints").fetchone()[0]
    assert SECRET_VALUE not in raw
    stored = world.store.get_endpoint(world.project.id, endpoint.id)
    assert engine_environment(stored.spec, world.box) == {"API_SECRET": SECRET_VALUE}
    shown = world.endpoints.describe(world.principal("viewer"), "web")
    assert shown.spec.env[0].value == REDACTED


def test_patch_bumps_generation_only_on_a_real_change(world: World):
    admin = world.principal("admin")
    world.endpoints.create(admin, "web", web_spec(secret=SECRET_VALUE))
    patched = world.endpoints.patch(admin, "web", {"replicas": 3}, expected_generation=1)
    assert (patched.generation, patched.spec.replicas) == (2, 3)
    same = world.endpoints.patch(admin, "web", {"replicas": 3})
    assert same.generation == 2
    # Echoing the mask back (as a client that read the endpoint would) keeps the secret.
    masked = [{"name": "API_SECRET", "value": REDACTED, "secret": True}]
    kept = world.endpoints.patch(admin, "web", {"env": masked})
    assert kept.generation == 2
    assert engine_environment(kept.spec, world.box) == {"API_SECRET": SECRET_VALUE}
    assert reasons(world, patched.id).count("EndpointPatched") == 1


def test_patch_with_a_stale_generation_is_a_conflict_asking_to_reread(world: World):
    admin = world.principal("admin")
    world.endpoints.create(admin, "web", web_spec())
    world.endpoints.patch(admin, "web", {"replicas": 2}, expected_generation=1)
    with pytest.raises(Conflict) as exc:
        world.endpoints.patch(admin, "web", {"replicas": 4}, expected_generation=1)
    assert exc.value.field == "generation"
    assert "re-read" in exc.value.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"replicas": -1}, "spec.replicas"),
        ({"framework": "nope"}, "spec.framework"),
        ({"command": []}, "spec.command"),
        ({"resources": {"gpu_type": "H100"}}, "spec.resources.gpu_count"),
        ({"no_such_field": 1}, "spec.no_such_field"),
    ],
)
def test_patch_validation_errors_name_the_field(world: World, changes: dict, field: str):
    admin = world.principal("admin")
    world.endpoints.create(admin, "web", web_spec())
    with pytest.raises(InvalidSpec) as exc:
        world.endpoints.patch(admin, "web", changes)
    assert exc.value.field == field
    assert exc.value.message.startswith(field)


def test_actions_change_desired_state_and_write_events(world: World):
    member = world.principal("member")
    created, _ = world.endpoints.create(member, "web", web_spec())
    assert world.endpoints.stop(member, "web").desired_state is DesiredState.STOPPED
    assert world.endpoints.start(member, "web").desired_state is DesiredState.RUNNING
    restarted = world.endpoints.restart(member, "web")
    assert restarted.generation == 2
    assert restarted.spec == created.spec
    assert reasons(world, created.id) == [
        "EndpointCreated",
        "EndpointStopped",
        "EndpointStarted",
        "EndpointRestarted",
    ]


def test_delete_marks_deleted_and_revokes_the_inference_key(world: World):
    member = world.principal("member")
    _, key = world.endpoints.create(member, "web", web_spec())
    world.authenticator.forget()
    deleted = world.endpoints.delete(member, "web")
    assert deleted.desired_state is DesiredState.DELETED
    assert world.endpoints.view(deleted).phase is EndpointPhase.DELETING
    world.authenticator.forget()
    with pytest.raises(Unauthorized):
        world.authenticator.authenticate(f"Bearer {key}")
    with pytest.raises(Conflict):
        world.endpoints.patch(member, "web", {"replicas": 2})
    with pytest.raises(Conflict):  # same name while the old one is torn down
        world.endpoints.create(member, "web", web_spec())
    assert world.endpoints.delete(member, "web").id == deleted.id  # idempotent


def test_roles_and_projects_are_enforced(world: World):
    world.endpoints.create(world.principal("admin"), "web", web_spec())
    viewer = world.principal("viewer")
    assert world.endpoints.get(viewer, "web").name == "web"
    for action in (world.endpoints.stop, world.endpoints.restart, world.endpoints.delete):
        with pytest.raises(Forbidden):
            action(viewer, "web")
    other = world.principal("other_admin")
    with pytest.raises(NotFound):
        world.endpoints.get(other, "web")
    with pytest.raises(NotFound):
        world.endpoints.delete(other, "web")
    assert world.endpoints.count(other) == 0
    assert (
        world.endpoints.get_by_id(other, world.endpoints.get(world.principal("admin"), "web").id)
        is None
    )


def test_an_inference_key_sees_only_its_endpoint(world: World):
    admin = world.principal("admin")
    _, key = world.endpoints.create(admin, "web", web_spec())
    world.endpoints.create(admin, "other", web_spec(replicas=2))
    scoped = world.authenticator.authenticate(f"Bearer {key}")
    assert [e.name for e in world.endpoints.scan(scoped, EndpointFilter())] == ["web"]
    assert world.endpoints.count(scoped) == 1
    with pytest.raises(NotFound):
        world.endpoints.get(scoped, "other")
    with pytest.raises(Forbidden):
        world.endpoints.stop(scoped, "web")


def test_public_view_counts_replicas_and_derives_the_phase(world: World):
    admin = world.principal("admin")
    endpoint, _ = world.endpoints.create(admin, "web", web_spec(replicas=2))
    now = world.clock.now()
    replica = world.store.create_replica(endpoint.id, 1, now)
    handle = ReplicaHandle(backend="local", host="127.0.0.1", port=9000, pid=1)
    world.store.transition_replica(
        replica.id, ReplicaState.PENDING, ReplicaState.STARTING, detail="t", now=now, handle=handle
    )
    world.store.transition_replica(
        replica.id, ReplicaState.STARTING, ReplicaState.READY, detail="t", now=now
    )
    world.store.create_replica(endpoint.id, 1, now + timedelta(seconds=1))
    view = world.endpoints.describe(admin, "web")
    assert view.phase is EndpointPhase.DEGRADED
    assert (view.replicas.desired, view.replicas.ready, view.replicas.pending) == (2, 1, 1)
    assert view.url == f"{GATEWAY}/endpoints/web/v1"
    listed = world.endpoints.page(admin, PageQuery()).items
    assert [(i.endpoint.name, i.phase) for i in listed] == [("web", EndpointPhase.DEGRADED)]


def test_logs_return_the_tail_of_each_replica_log(world: World, tmp_path):
    admin = world.principal("admin")
    endpoint, _ = world.endpoints.create(admin, "web", web_spec())
    log_path = tmp_path / "replica.log"
    log_path.write_text("first line\n" + "x" * 100 + "\nlast line\n")
    replica = world.store.create_replica(endpoint.id, 1, world.clock.now())
    handle = ReplicaHandle(
        backend="local", host="127.0.0.1", port=9000, pid=1, log_path=str(log_path)
    )
    world.store.transition_replica(
        replica.id,
        ReplicaState.PENDING,
        ReplicaState.STARTING,
        detail="t",
        now=world.clock.now(),
        handle=handle,
    )
    world.store.create_replica(endpoint.id, 1, world.clock.now())  # not launched: no log
    logs = world.endpoints.logs(admin, "web", tail_bytes=10)
    assert [(entry.replica_id, entry.text) for entry in logs] == [(replica.id, "last line\n")]
    log_path.unlink()
    assert world.endpoints.logs(admin, "web")[0].text == ""
    with pytest.raises(InvalidSpec) as exc:
        world.endpoints.logs(admin, "web", tail_bytes=0)
    assert exc.value.field == "tail_bytes"


def test_events_page_after_an_id(world: World):
    admin = world.principal("admin")
    world.endpoints.create(admin, "web", web_spec())
    world.endpoints.stop(admin, "web")
    world.endpoints.start(admin, "web")
    first = world.endpoints.events(admin, "web", limit=1)
    assert [e.reason for e in first] == ["EndpointCreated"]
    rest = world.endpoints.events(admin, "web", after_id=first[0].id)
    assert [e.reason for e in rest] == ["EndpointStopped", "EndpointStarted"]


def test_the_mask_is_never_stored_as_a_secret_value(world: World):
    admin = world.principal("admin")
    with pytest.raises(InvalidSpec) as exc:
        world.endpoints.create(admin, "web", web_spec(secret=REDACTED))
    assert exc.value.field == "spec.env.0.value"
    world.endpoints.create(admin, "web", web_spec(secret=SECRET_VALUE))
    masked_new = [
        {"name": "API_SECRET", "value": REDACTED, "secret": True},
        {"name": "NEW_SECRET", "value": REDACTED, "secret": True},
    ]
    with pytest.raises(InvalidSpec) as patched:
        world.endpoints.patch(admin, "web", {"env": masked_new})
    assert patched.value.field == "spec.env.1.value"
