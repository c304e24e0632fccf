from __future__ import annotations

from datetime import UTC

import pytest

from modelport.domain.errors import Conflict, NotFound
from modelport.domain.ids import hash_token, new_token, token_display_prefix
from modelport.domain.records import Endpoint, Project, Role
from modelport.store import SqlStore


def test_projects_are_created_found_and_listed(store: SqlStore) -> None:
    a = store.create_project("alpha")
    b = store.create_project("beta")

    assert store.get_project(a.id) == a
    assert store.get_project_by_name("beta") == b
    assert [p.name for p in store.list_projects()] == ["alpha", "beta"]
    assert a.created_at.tzinfo is UTC


def test_project_name_is_unique(store: SqlStore) -> None:
    store.create_project("alpha")
    with pytest.raises(Conflict) as caught:
        store.create_project("alpha")
    assert caught.value.field == "name"


def test_missing_project_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound):
        store.get_project(999)
    with pytest.raises(NotFound):
        store.get_project_by_name("nobody")


def test_token_is_found_by_hash_until_revoked(store: SqlStore, project: Project) -> None:
    secret = new_token()
    token = store.create_token(
        project.id, "ci", Role.MEMBER, hash_token(secret), token_display_prefix(secret)
    )

    found = store.find_token(hash_token(secret))
    assert found == token
    assert found.role is Role.MEMBER and found.endpoint_id is None and not found.revoked
    assert store.find_token(hash_token(new_token())) is None

    store.revoke_token(project.id, token.id)

    assert store.find_token(hash_token(secret)) is None
    [listed] = store.list_tokens(project.id)
    assert listed.revoked and listed.id == token.id


def test_tokens_of_another_project_cannot_be_revoked(store: SqlStore, project: Project) -> None:
    other = store.create_project("other")
    token = store.create_token(project.id, "ci", Role.ADMIN, hash_token(new_token()), "mp_x")

    with pytest.raises(NotFound):
        store.revoke_token(other.id, token.id)
    assert store.list_tokens(other.id) == []
    assert not store.list_tokens(project.id)[0].revoked


def test_endpoint_scoped_token(store: SqlStore, project: Project, endpoint: Endpoint) -> None:
    secret = new_token()
    token = store.create_token(
        project.id, "key", Role.VIEWER, hash_token(secret), "mp_y", endpoint_id=endpoint.id
    )
    assert store.find_token(hash_token(secret)) == token
    assert token.endpoint_id == endpoint.id

    # A key for a deleted endpoint must not survive to widen onto the whole project.
    store.delete_endpoint(endpoint.id)
    assert store.find_token(hash_token(secret)) is None


def test_token_for_an_endpoint_of_another_project_is_refused(
    store: SqlStore, endpoint: Endpoint
) -> None:
    other = store.create_project("other")
    with pytest.raises(NotFound) as caught:
        store.create_token(
            other.id, "key", Role.VIEWER, hash_token(new_token()), "mp_z", endpoint.id
        )
    assert caught.value.field == "endpoint_id"


def test_duplicate_token_hash_is_a_conflict(store: SqlStore, project: Project) -> None:
    token_hash = hash_token(new_token())
    store.create_token(project.id, "one", Role.ADMIN, token_hash, "mp_a")
    with pytest.raises(Conflict):
        store.create_token(project.id, "two", Role.ADMIN, token_hash, "mp_a")
