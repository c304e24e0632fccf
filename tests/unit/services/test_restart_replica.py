"""EndpointService.restart_replica: who may ask, which replicas, what is written."""

from __future__ import annotations

import pytest

from modelport.domain.errors import Conflict, Forbidden, NotFound
from modelport.domain.records import Endpoint, Replica, ReplicaHandle
from modelport.domain.states import ReplicaState
from tests.unit.services.harness import World, web_spec

S = ReplicaState


def ready_replicas(world: World, endpoint: Endpoint, count: int) -> list[Replica]:
    """`count` READY replicas, as the controller would have left them."""
    out = []
    for i in range(count):
        now = world.clock.now()
        replica = world.store.create_replica(endpoint.id, endpoint.template_generation, now)
        handle = ReplicaHandle(backend="fake", host="127.0.0.1", port=9000 + i, pid=100 + i)
        world.store.transition_replica(
            replica.id, S.PENDING, S.STARTING, detail="launched", now=now, handle=handle
        )
        out.append(
            world.store.transition_replica(replica.id, S.STARTING, S.READY, detail="", now=now)
        )
    return out


def test_a_member_marks_one_replica_for_restart_and_the_event_names_who_asked(world: World):
    member = world.principal("member")
    endpoint, _ = world.endpoints.create(member, "web", web_spec(replicas=2))
    first, second = ready_replicas(world, endpoint, 2)

    marked = world.endpoints.restart_replica(member, "web", first.id)

    assert marked.id == first.id
    assert marked.restart_requested_at == world.clock.now()
    assert marked.state is S.READY  # still serving: the controller drains it once replaced
    stored = {r.id: r.restart_requested_at for r in world.endpoints.replicas(member, "web")}
    assert stored == {first.id: world.clock.now(), second.id: None}
    event = world.store.list_events(endpoint.id)[-1]
    assert event.reason == "ReplicaRestartRequested"
    assert event.replica_id == first.id
    assert "token 'member' (member)" in event.message
    # The endpoint itself is untouched: no new generation, nothing else rolls.
    assert world.endpoints.get(member, "web").generation == endpoint.generation


def test_asking_again_keeps_the_first_request_and_writes_no_second_event(world: World):
    admin = world.principal("admin")
    endpoint, _ = world.endpoints.create(admin, "web", web_spec())
    (replica,) = ready_replicas(world, endpoint, 1)
    first = world.endpoints.restart_replica(admin, "web", replica.id)
    world.clock.advance(5)
    again = world.endpoints.restart_replica(admin, "web", replica.id)
    assert again.restart_requested_at == first.restart_requested_at
    reasons = [e.reason for e in world.store.list_events(endpoint.id)]
    assert reasons.count("ReplicaRestartRequested") == 1


@pytest.mark.parametrize("state", [S.PENDING, S.STARTING, S.FAILED])
def test_a_replica_not_serving_yet_may_be_restarted_too(world: World, state: S):
    admin = world.principal("admin")
    endpoint, _ = world.endpoints.create(admin, "web", web_spec())
    replica = world.store.create_replica(endpoint.id, 1, world.clock.now())
    if state is not S.PENDING:
        world.store.transition_replica(
            replica.id, S.PENDING, state, detail="", now=world.clock.now()
        )
    marked = world.endpoints.restart_replica(admin, "web", replica.id)
    assert marked.restart_requested_at is not None


def test_viewers_inference_keys_and_other_projects_may_not(world: World):
    admin = world.principal("admin")
    endpoint, key = world.endpoints.create(admin, "web", web_spec())
    assert key is not None
    (replica,) = ready_replicas(world, endpoint, 1)
    scoped = world.authenticator.authenticate(f"Bearer {key}")
    for who in (world.principal("viewer"), scoped):
        with pytest.raises(Forbidden):
            world.endpoints.restart_replica(who, "web", replica.id)
    with pytest.raises(NotFound):  # another project's endpoint does not exist for it
        world.endpoints.restart_replica(world.principal("other_admin"), "web", replica.id)
    assert world.store.get_replica(replica.id).restart_requested_at is None


def test_an_unknown_replica_or_one_of_another_endpoint_is_not_found_naming_replica(
    world: World,
):
    admin = world.principal("admin")
    world.endpoints.create(admin, "web", web_spec())
    other, _ = world.endpoints.create(admin, "other", web_spec())
    (foreign,) = ready_replicas(world, other, 1)
    for replica_id in (foreign.id, 999_999):
        with pytest.raises(NotFound) as exc:
            world.endpoints.restart_replica(admin, "web", replica_id)
        assert exc.value.field == "replica"
        assert str(replica_id) in exc.value.message
    assert world.store.get_replica(foreign.id).restart_requested_at is None


def test_a_stopped_replica_is_not_found_and_a_draining_one_is_a_conflict(world: World):
    admin = world.principal("admin")
    endpoint, _ = world.endpoints.create(admin, "web", web_spec(replicas=2))
    draining, stopped = ready_replicas(world, endpoint, 2)
    now = world.clock.now()
    world.store.transition_replica(draining.id, S.READY, S.DRAINING, detail="", now=now)
    world.store.transition_replica(stopped.id, S.READY, S.DRAINING, detail="", now=now)
    world.store.transition_replica(stopped.id, S.DRAINING, S.STOPPED, detail="", now=now)
    with pytest.raises(NotFound) as gone:
        world.endpoints.restart_replica(admin, "web", stopped.id)
    assert gone.value.field == "replica"
    with pytest.raises(Conflict) as leaving:
        world.endpoints.restart_replica(admin, "web", draining.id)
    assert leaving.value.field == "replica"
    assert "draining" in leaving.value.message


def test_a_replica_already_draining_after_its_own_restart_answers_as_before(world: World):
    admin = world.principal("admin")
    endpoint, _ = world.endpoints.create(admin, "web", web_spec())
    (replica,) = ready_replicas(world, endpoint, 1)
    first = world.endpoints.restart_replica(admin, "web", replica.id)
    world.store.transition_replica(
        replica.id, S.READY, S.DRAINING, detail="", now=world.clock.now()
    )
    again = world.endpoints.restart_replica(admin, "web", replica.id)
    assert again.state is S.DRAINING
    assert again.restart_requested_at == first.restart_requested_at


def test_replicas_of_a_stopped_endpoint_are_not_restarted(world: World):
    admin = world.principal("admin")
    endpoint, _ = world.endpoints.create(admin, "web", web_spec())
    (replica,) = ready_replicas(world, endpoint, 1)
    world.endpoints.stop(admin, "web")
    with pytest.raises(Conflict) as exc:
        world.endpoints.restart_replica(admin, "web", replica.id)
    assert "start it first" in exc.value.message
    assert world.store.get_replica(replica.id).restart_requested_at is None
