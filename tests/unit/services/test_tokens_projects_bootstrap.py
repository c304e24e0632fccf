"""Tokens, projects and first-start bootstrap."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from modelport.domain.errors import Forbidden, InvalidSpec, NotFound, Unauthorized
from modelport.domain.ids import hash_token
from modelport.domain.records import Role
from modelport.services.bootstrap import ensure_bootstrap
from modelport.services.tokens import mint_token
from modelport.settings import Settings
from modelport.store import open_store
from tests.unit.services.harness import World, web_spec


def test_only_admins_manage_tokens(world: World):
    admin = world.principal("admin")
    token, plaintext = world.tokens.create(admin, "ci", Role.VIEWER)
    assert world.authenticator.authenticate(f"Bearer {plaintext}").role is Role.VIEWER
    assert token.id in [t.id for t in world.tokens.list(admin)]
    for who in ("member", "viewer"):
        with pytest.raises(Forbidden):
            world.tokens.create(world.principal(who), "x", Role.ADMIN)
        with pytest.raises(Forbidden):
            world.tokens.list(world.principal(who))
    world.tokens.revoke(admin, token.id)
    world.authenticator.forget()
    with pytest.raises(Unauthorized):
        world.authenticator.authenticate(f"Bearer {plaintext}")
    assert token.id not in [t.id for t in world.tokens.list(admin)]
    with pytest.raises(NotFound):  # another project's token id
        world.tokens.revoke(world.principal("other_admin"), world.principal("admin").token_id)


def test_endpoint_scoped_tokens(world: World):
    admin = world.principal("admin")
    endpoint, _ = world.endpoints.create(admin, "web", web_spec())
    token, _ = world.tokens.create(admin, "web-viewer", Role.VIEWER, endpoint="web")
    assert token.endpoint_id == endpoint.id
    with pytest.raises(InvalidSpec) as exc:
        world.tokens.create(admin, "web-admin", Role.ADMIN, endpoint="web")
    assert exc.value.field == "role"
    with pytest.raises(NotFound) as missing:
        world.tokens.create(admin, "nope", Role.MEMBER, endpoint="nope")
    assert missing.value.field == "endpoint"


def test_projects_are_created_by_the_server_admin_with_a_first_admin_token(world: World):
    admin = world.principal("admin")
    assert [p.name for p in world.projects.list(admin)] == ["team-a"]
    operator = world.principal("server_admin")
    project, token = world.projects.create(operator, "team-c")
    principal = world.authenticator.authenticate(f"Bearer {token}")
    assert (principal.project_id, principal.role) == (project.id, Role.ADMIN)
    assert not principal.server_admin  # a project's admin is not the server's
    for who in ("admin", "member"):
        with pytest.raises(Forbidden):
            world.projects.create(world.principal(who), "team-d")
    with pytest.raises(InvalidSpec):
        world.projects.create(operator, "Team_D")


def test_bootstrap_writes_a_private_admin_token_once(tmp_path: Path):
    settings = Settings(home=tmp_path / "home")
    settings.ensure_home()
    store = open_store(settings.effective_database_url)
    try:
        token = ensure_bootstrap(store, settings)
        assert token is not None
        path = settings.admin_token_path
        assert path.read_text().strip() == token
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        project = store.get_project_by_name("default")
        record = store.find_token(hash_token(token))
        assert record is not None and record.role is Role.ADMIN
        assert record.project_id == project.id
        assert record.server_admin  # the operator's token

        before = path.stat().st_mtime_ns
        assert ensure_bootstrap(store, settings) is None
        assert path.stat().st_mtime_ns == before

        path.unlink()  # lost file: nothing is minted behind the operator's back
        assert ensure_bootstrap(store, settings) is None
        assert not path.exists()
        assert len(store.list_tokens(project.id)) == 1
    finally:
        store.close()


def test_a_server_bootstrapped_before_server_admins_gets_its_operator_back(tmp_path: Path):
    """An upgrade: the bootstrap token minted by an older version becomes the server admin."""
    settings = Settings(home=tmp_path / "home")
    settings.ensure_home()
    store = open_store(settings.effective_database_url)
    try:
        project = store.create_project("default")
        _, plaintext = mint_token(store, project.id, "bootstrap-admin", Role.ADMIN)
        other, _ = mint_token(store, project.id, "ci", Role.ADMIN)
        assert ensure_bootstrap(store, settings) is None
        record = store.find_token(hash_token(plaintext))
        assert record is not None and record.server_admin
        ci = next(t for t in store.list_tokens(project.id) if t.id == other.id)
        assert not ci.server_admin
    finally:
        store.close()
