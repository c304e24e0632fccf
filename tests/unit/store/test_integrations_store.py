"""Integrations in the store: project-scoped names, fields round-trip, the sealed secret kept as
given and out of every dump, a version that counts each change, deletion guarded by the
caller's admission under the project lock. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from modelport.clock import FakeClock
from modelport.domain.errors import Conflict, NotFound
from modelport.domain.integrations import IntegrationFields, IntegrationKind
from modelport.domain.records import Endpoint, Project
from modelport.store import SqlStore

LOGIN = IntegrationFields(server="127.0.0.1:5000", username="puller")


def test_create_get_list_round_trip(store: SqlStore, project: Project) -> None:
    hf = store.create_integration(
        project.id, "hub", IntegrationKind.HUGGING_FACE, IntegrationFields(), "enc:v1:a"
    )
    reg = store.create_integration(project.id, "reg", IntegrationKind.REGISTRY, LOGIN, "enc:v1:b")

    assert store.get_integration(project.id, hf.id) == hf
    assert store.get_integration_by_name(project.id, "reg") == reg
    assert reg.fields == LOGIN and reg.kind is IntegrationKind.REGISTRY
    assert reg.sealed_secret == "enc:v1:b" and "sealed_secret" not in reg.model_dump()
    assert "enc:v1:b" not in repr(reg)
    assert hf.version == 1 and hf.rotated_at == hf.created_at
    assert store.list_integrations(project.id) == [hf, reg]


def test_names_are_unique_per_project_only(store: SqlStore, project: Project) -> None:
    other = store.create_project("team-b")
    kind, fields = IntegrationKind.HUGGING_FACE, IntegrationFields()
    store.create_integration(project.id, "hub", kind, fields, "enc:v1:a")
    with pytest.raises(Conflict) as err:
        store.create_integration(project.id, "hub", kind, fields, "enc:v1:b")
    assert err.value.field == "name"
    theirs = store.create_integration(other.id, "hub", kind, fields, "enc:v1:c")
    assert store.get_integration_by_name(other.id, "hub") == theirs


def test_other_projects_integrations_are_not_found(store: SqlStore, project: Project) -> None:
    other = store.create_project("team-b")
    theirs = store.create_integration(other.id, "reg", IntegrationKind.REGISTRY, LOGIN, "enc:x")
    with pytest.raises(NotFound):
        store.get_integration(project.id, theirs.id)
    with pytest.raises(NotFound):
        store.get_integration_by_name(project.id, "reg")
    with pytest.raises(NotFound):
        store.update_integration(project.id, theirs.id, sealed_secret="enc:mine")
    with pytest.raises(NotFound):
        store.delete_integration(project.id, theirs.id)
    assert store.list_integrations(project.id) == []
    assert store.get_integration(other.id, theirs.id) == theirs


def test_unknown_project_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound) as err:
        store.create_integration(999, "hub", IntegrationKind.S3, IntegrationFields(), "enc:x")
    assert err.value.field == "project_id"


def test_each_change_adds_one_to_the_version_and_a_secret_sets_rotated_at(
    store: SqlStore, project: Project, clock: FakeClock
) -> None:
    created = store.create_integration(
        project.id, "reg", IntegrationKind.REGISTRY, LOGIN, "enc:v1:first"
    )
    clock.advance(60)
    rotated = store.update_integration(project.id, created.id, sealed_secret="enc:v1:second")
    assert rotated.version == 2 and rotated.sealed_secret == "enc:v1:second"
    assert rotated.rotated_at == clock.now() and rotated.created_at == created.created_at

    clock.advance(60)
    renamed = LOGIN.model_copy(update={"username": "other"})
    patched = store.update_integration(project.id, created.id, fields=renamed)
    assert patched.version == 3 and patched.fields == renamed
    assert patched.rotated_at == rotated.rotated_at  # the secret did not change
    assert patched.sealed_secret == "enc:v1:second"
    assert store.get_integration(project.id, created.id) == patched


def test_delete_runs_the_admission_first(
    store: SqlStore, project: Project, endpoint: Endpoint
) -> None:
    made = store.create_integration(
        project.id, "s3", IntegrationKind.S3, IntegrationFields(), "enc:x"
    )
    seen: list[list[str]] = []

    def refuse(_project: Project, endpoints: Sequence[Endpoint]) -> None:
        seen.append([e.name for e in endpoints])
        raise Conflict("in use", field="name")

    with pytest.raises(Conflict):
        store.delete_integration(project.id, made.id, admit=refuse)
    assert seen == [["chat"]]
    assert store.get_integration(project.id, made.id) == made

    store.delete_integration(project.id, made.id, admit=lambda _p, _e: None)
    with pytest.raises(NotFound):
        store.get_integration(project.id, made.id)
