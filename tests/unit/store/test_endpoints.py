from __future__ import annotations

import pytest

from modelport.clock import FakeClock
from modelport.domain.errors import Conflict, InvalidSpec, NotFound
from modelport.domain.records import Endpoint, EventLevel, Project
from modelport.domain.states import DesiredState
from modelport.store import SqlStore
from tests.unit.store.specs import custom_spec


def test_create_stores_the_sealed_spec(store: SqlStore, project: Project) -> None:
    spec = custom_spec()
    sealed = spec.model_copy(update={"description": "sealed form"})

    created = store.create_endpoint(project.id, "chat", spec, sealed.model_dump_json())

    assert created.spec == sealed
    assert created.generation == 1
    assert created.desired_state is DesiredState.RUNNING
    assert store.get_endpoint(project.id, created.id) == created
    assert store.get_endpoint_by_name(project.id, "chat") == created
    assert store.get_endpoint_any_project(created.id) == created


def test_name_is_unique_within_a_project_only(store: SqlStore, endpoint: Endpoint) -> None:
    spec = custom_spec()
    with pytest.raises(Conflict) as caught:
        store.create_endpoint(endpoint.project_id, "chat", spec, spec.model_dump_json())
    assert caught.value.field == "name"

    other = store.create_project("other")
    same_name = store.create_endpoint(other.id, "chat", spec, spec.model_dump_json())
    assert same_name.id != endpoint.id


def test_other_projects_do_not_see_the_endpoint(store: SqlStore, endpoint: Endpoint) -> None:
    other = store.create_project("other")
    with pytest.raises(NotFound):
        store.get_endpoint(other.id, endpoint.id)
    with pytest.raises(NotFound):
        store.get_endpoint_by_name(other.id, "chat")
    assert store.list_endpoints(other.id) == []
    assert store.list_endpoints(endpoint.project_id) == [endpoint]


def test_list_all_endpoints_spans_projects(store: SqlStore, endpoint: Endpoint) -> None:
    other = store.create_project("other")
    spec = custom_spec()
    second = store.create_endpoint(other.id, "embed", spec, spec.model_dump_json())
    assert store.list_endpoints() == [endpoint, second]


def test_create_in_a_missing_project_is_not_found(store: SqlStore) -> None:
    spec = custom_spec()
    with pytest.raises(NotFound):
        store.create_endpoint(404, "chat", spec, spec.model_dump_json())


def test_unreadable_spec_is_refused(store: SqlStore, project: Project) -> None:
    with pytest.raises(InvalidSpec):
        store.create_endpoint(project.id, "chat", custom_spec(), '{"framework": "nope"}')


def test_update_is_compare_and_set_on_generation(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    clock.advance(60)
    changed = custom_spec(replicas=3)

    updated = store.update_endpoint(
        endpoint.id,
        expected_generation=1,
        secret_spec_json=changed.model_dump_json(),
        bump_generation=True,
    )

    assert updated.generation == 2
    assert updated.spec.replicas == 3
    assert updated.updated_at > endpoint.updated_at
    assert updated.created_at == endpoint.created_at
    with pytest.raises(Conflict) as caught:
        store.update_endpoint(endpoint.id, expected_generation=1, bump_generation=True)
    assert caught.value.field == "generation"
    assert store.get_endpoint_any_project(endpoint.id).generation == 2


def test_desired_state_changes(store: SqlStore, endpoint: Endpoint) -> None:
    stopped = store.update_endpoint(
        endpoint.id, expected_generation=None, desired_state=DesiredState.STOPPED
    )
    assert stopped.desired_state is DesiredState.STOPPED
    assert stopped.generation == 1  # not a spec change
    assert stopped.spec == endpoint.spec

    deleting = store.update_endpoint(
        endpoint.id, expected_generation=1, desired_state=DesiredState.DELETED
    )
    assert store.get_endpoint(endpoint.project_id, endpoint.id) == deleting
    assert deleting.desired_state is DesiredState.DELETED


def test_update_of_missing_endpoint_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound):
        store.update_endpoint(404, expected_generation=None, bump_generation=True)


def test_delete_removes_replicas_and_events(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    replica = store.create_replica(endpoint.id, 1, clock.now())
    store.add_event(
        endpoint.id, level=EventLevel.INFO, reason="Created", message="hi", now=clock.now()
    )
    spec = custom_spec()
    survivor = store.create_endpoint(endpoint.project_id, "other", spec, spec.model_dump_json())
    kept = store.create_replica(survivor.id, 1, clock.now())

    store.delete_endpoint(endpoint.id)

    with pytest.raises(NotFound):
        store.get_endpoint_any_project(endpoint.id)
    with pytest.raises(NotFound):
        store.get_replica(replica.id)
    assert store.list_events(endpoint.id) == []
    assert store.list_replicas(include_stopped=True) == [kept]
    with pytest.raises(NotFound):
        store.delete_endpoint(endpoint.id)


def test_scale_target_is_a_compare_and_set_apart_from_the_generation(
    store: SqlStore, endpoint: Endpoint, clock: FakeClock
) -> None:
    assert endpoint.scale_target is None
    first = store.set_scale_target(endpoint.id, expected=None, target=3, now=clock.now())
    assert (first.scale_target, first.scaled_at) == (3, clock.now())
    assert (first.generation, first.template_generation) == (
        endpoint.generation,
        endpoint.template_generation,
    )
    with pytest.raises(Conflict) as stale:  # a second decision made from the same reading
        store.set_scale_target(endpoint.id, expected=None, target=5, now=clock.now())
    assert stale.value.field == "scale_target"
    assert store.get_endpoint_any_project(endpoint.id).scale_target == 3
    assert (
        store.set_scale_target(endpoint.id, expected=3, target=0, now=clock.now()).scale_target == 0
    )
    with pytest.raises(NotFound):
        store.set_scale_target(endpoint.id + 99, expected=None, target=1, now=clock.now())
