"""EndpointService: host access (docs/security.md) and project quotas, with a real store."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelport.domain.errors import Forbidden, InvalidSpec, NotFound, QuotaExceeded
from modelport.domain.records import ProjectLimits
from modelport.domain.specs import EndpointSpec
from modelport.services.endpoints import EndpointService
from modelport.services.host_policy import allowed_dirs
from tests.unit.services.harness import GATEWAY, World, web_spec


def llama(path: str, **fields: object) -> EndpointSpec:
    return EndpointSpec.model_validate({"framework": "llamacpp", "model": {"path": path}, **fields})


def grant(world: World, *, host_access: bool) -> None:
    world.store.update_project(world.other_project.id, host_access=host_access)
    world.authenticator.forget()


def limit(world: World, **limits: int) -> None:
    world.store.update_project(world.other_project.id, limits=ProjectLimits(**limits))
    world.authenticator.forget()


def test_a_member_without_host_access_cannot_run_a_command(world: World):
    member = world.principal("other_member")
    with pytest.raises(Forbidden) as caught:
        world.endpoints.create(member, "web", web_spec())
    assert caught.value.field == "spec.command"
    assert "host access" in caught.value.message
    assert "modelport projects set" in caught.value.message
    assert world.store.list_endpoints(world.other_project.id) == []


def test_granted_projects_and_the_server_admin_may(world: World):
    world.endpoints.create(world.principal("server_admin"), "ops-web", web_spec())
    grant(world, host_access=True)
    world.endpoints.create(world.principal("other_member"), "web", web_spec())
    grant(world, host_access=False)
    with pytest.raises(Forbidden):
        world.endpoints.create(world.principal("other_member"), "web-2", web_spec())


def test_an_inference_key_never_may_use_the_host(world: World):
    _, key = world.endpoints.create(world.principal("member"), "web", web_spec())
    principal = world.authenticator.authenticate(f"Bearer {key}")
    assert not principal.may_use_host


def test_the_host_check_runs_before_the_engine_looks_at_the_path(world: World):
    """No file-exists oracle: the same answer whether the path exists or not."""
    member = world.principal("other_member")
    for path in ("/etc/hostname", "/etc/no-such-file"):
        with pytest.raises(Forbidden) as caught:
            world.endpoints.create(member, "m", llama(path))
        assert caught.value.field == "spec.model.path"
        assert "GGUF" not in caught.value.message


def test_paths_in_allowed_dirs_reach_the_engine_check(world: World, tmp_path: Path):
    models = tmp_path / "models"
    models.mkdir()
    service = EndpointService(
        world.store, world.box, world.clock, GATEWAY, model_dirs=allowed_dirs(models, [])
    )
    with pytest.raises(InvalidSpec) as caught:  # allowed, so the engine says what is wrong
        service.create(world.principal("other_member"), "m", llama(str(models / "none.gguf")))
    assert caught.value.field == "spec.model.path"
    assert "no GGUF file" in caught.value.message


def test_a_member_may_scale_and_restart_what_the_operator_set_up(world: World):
    world.endpoints.create(world.principal("server_admin"), "web", web_spec())
    # The operator's endpoint lives in its own project: give team-b one by granting briefly.
    grant(world, host_access=True)
    world.endpoints.create(world.principal("other_member"), "op", web_spec())
    grant(world, host_access=False)
    member = world.principal("other_member")
    scaled = world.endpoints.patch(member, "op", {"replicas": 2, "labels": {"a": "b"}})
    assert scaled.spec.replicas == 2
    world.endpoints.restart(member, "op")
    world.endpoints.stop(member, "op")
    world.endpoints.start(member, "op")
    with pytest.raises(Forbidden) as caught:
        world.endpoints.patch(member, "op", {"command": ["sh", "-c", "id"]})
    assert caught.value.field == "spec.command"
    with pytest.raises(Forbidden) as caught:
        world.endpoints.patch(member, "op", {"env": [{"name": "LD_PRELOAD", "value": "/x.so"}]})
    assert caught.value.field == "spec.env.0.name"
    assert world.store.get_endpoint_by_name(world.other_project.id, "op").spec.command == [
        "python",
        "-m",
        "http.server",
        "{port}",
        "--bind",
        "{host}",
    ]


def test_quota_on_endpoints(world: World):
    grant(world, host_access=True)
    limit(world, max_endpoints=2)
    member = world.principal("other_member")
    world.endpoints.create(member, "a", web_spec())
    world.endpoints.create(member, "b", web_spec())
    with pytest.raises(QuotaExceeded) as caught:
        world.endpoints.create(member, "c", web_spec())
    assert "max_endpoints" in caught.value.message
    assert "has 2" in caught.value.message
    assert caught.value.retry_after >= 1
    world.endpoints.create(member, "a", web_spec())  # idempotent: no new endpoint, no quota
    world.endpoints.delete(member, "b")  # being deleted: no longer counted
    world.endpoints.create(member, "c", web_spec())


def test_quota_on_replicas_and_gpus_counts_autoscale_max_and_stopped_endpoints_run_none(
    world: World,
):
    grant(world, host_access=True)
    limit(world, max_replicas=4, max_gpus=0)
    member = world.principal("other_member")
    world.endpoints.create(member, "a", web_spec(replicas=3))
    with pytest.raises(QuotaExceeded) as caught:
        world.endpoints.create(member, "b", web_spec(replicas=2))
    assert caught.value.field == "spec.replicas"
    with pytest.raises(QuotaExceeded):
        world.endpoints.patch(
            member, "a", {"autoscale": {"enabled": True, "min_replicas": 1, "max_replicas": 5}}
        )
    world.endpoints.patch(member, "a", {"replicas": 4})
    with pytest.raises(QuotaExceeded) as caught:
        world.endpoints.patch(member, "a", {"resources": {"gpu_count": 1}})
    assert caught.value.field == "spec.resources.gpu_count"
    world.endpoints.stop(member, "a")
    world.endpoints.create(member, "b", web_spec(replicas=4))
    with pytest.raises(QuotaExceeded):
        world.endpoints.start(member, "a")  # would run 8 replicas
    with pytest.raises(QuotaExceeded):
        world.endpoints.restart(member, "a")  # restart starts a stopped endpoint too


def test_a_lowered_limit_stops_growth_not_other_changes(world: World):
    grant(world, host_access=True)
    member = world.principal("other_member")
    world.endpoints.create(member, "a", web_spec(replicas=3))
    limit(world, max_replicas=1)
    world.endpoints.patch(member, "a", {"labels": {"x": "y"}})  # no growth: allowed
    world.endpoints.patch(member, "a", {"replicas": 2})  # shrinking: allowed
    with pytest.raises(QuotaExceeded):
        world.endpoints.patch(member, "a", {"replicas": 3})


def test_only_the_server_admin_manages_projects(world: World):
    for who in ("admin", "other_admin", "member"):
        principal = world.principal(who)
        with pytest.raises(Forbidden):
            world.projects.create(principal, "team-x")
        with pytest.raises(Forbidden):
            world.projects.update(principal, "team-b", host_access=True)
        with pytest.raises(Forbidden):
            world.projects.mint_token(principal, "team-b", "t", world.principal(who).role)
    operator = world.principal("server_admin")
    project, token = world.projects.create(operator, "team-x")
    assert world.authenticator.authenticate(f"Bearer {token}").project_id == project.id
    updated = world.projects.update(operator, "team-x", limits={"max_endpoints": 3})
    updated = world.projects.update(operator, "team-x", limits={"max_gpus": 1}, host_access=True)
    assert (updated.limits.max_endpoints, updated.limits.max_gpus) == (3, 1)
    assert updated.host_access
    with pytest.raises(InvalidSpec) as caught:
        world.projects.update(operator, "team-x", limits={"max_gpus": -1})
    assert caught.value.field == "limits.max_gpus"
    with pytest.raises(NotFound):
        world.projects.update(operator, "nope", host_access=True)
    names = {p.name for p in world.projects.list(operator)}
    assert {"team-a", "team-b", "team-x"} <= names
    assert [p.name for p in world.projects.list(world.principal("admin"))] == ["team-a"]
    with pytest.raises(NotFound):
        world.projects.get(world.principal("admin"), "team-b")
