"""Datasets in the store: project-scoped names, options round-trip, sealed credentials kept
as given, deletion guarded by the caller's admission under the project lock."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from modelport.domain.datasets import StorageKind, StorageOptions
from modelport.domain.errors import Conflict, NotFound
from modelport.domain.records import Endpoint, Project
from modelport.store import SqlStore


def test_create_get_list_round_trip(store: SqlStore, project: Project) -> None:
    local = store.create_dataset(project.id, "results", StorageKind.LOCAL, "/srv/mp/ds/results")
    s3 = store.create_dataset(
        project.id,
        "bucket",
        StorageKind.FSSPEC,
        "s3://bucket/prefix",
        options=StorageOptions(endpoint_url="http://127.0.0.1:9000", region="us-east-1"),
        sealed_credentials="enc:v1:opaque",
    )

    assert store.get_dataset(project.id, local.id) == local
    assert store.get_dataset_by_name(project.id, "bucket") == s3
    assert s3.options.endpoint_url == "http://127.0.0.1:9000"
    assert s3.sealed_credentials == "enc:v1:opaque"
    assert "sealed_credentials" not in s3.model_dump()
    assert local.options == StorageOptions() and local.sealed_credentials is None
    assert store.list_datasets(project.id) == [local, s3]


def test_names_are_unique_per_project_only(store: SqlStore, project: Project) -> None:
    other = store.create_project("team-b")
    store.create_dataset(project.id, "results", StorageKind.LOCAL, "/a")
    with pytest.raises(Conflict) as err:
        store.create_dataset(project.id, "results", StorageKind.LOCAL, "/b")
    assert err.value.field == "name"
    theirs = store.create_dataset(other.id, "results", StorageKind.LOCAL, "/c")
    assert store.get_dataset_by_name(other.id, "results") == theirs


def test_other_projects_datasets_are_not_found(store: SqlStore, project: Project) -> None:
    other = store.create_project("team-b")
    theirs = store.create_dataset(other.id, "secret", StorageKind.LOCAL, "/c")
    with pytest.raises(NotFound):
        store.get_dataset(project.id, theirs.id)
    with pytest.raises(NotFound):
        store.get_dataset_by_name(project.id, "secret")
    with pytest.raises(NotFound):
        store.delete_dataset(project.id, theirs.id)
    assert store.list_datasets(project.id) == []
    assert store.get_dataset(other.id, theirs.id) == theirs


def test_unknown_project_is_not_found(store: SqlStore) -> None:
    with pytest.raises(NotFound):
        store.create_dataset(999, "x", StorageKind.LOCAL, "/x")


def test_delete_runs_admission_and_its_refusal_keeps_the_dataset(
    store: SqlStore, project: Project, endpoint: Endpoint
) -> None:
    dataset = store.create_dataset(project.id, "results", StorageKind.LOCAL, "/a")
    seen: list[list[str]] = []

    def refuse(locked: Project, endpoints: Sequence[Endpoint]) -> None:
        seen.append([e.name for e in endpoints])
        raise Conflict("in use", field="name")

    with pytest.raises(Conflict):
        store.delete_dataset(project.id, dataset.id, admit=refuse)
    assert seen == [[endpoint.name]]
    assert store.get_dataset(project.id, dataset.id) == dataset

    store.delete_dataset(project.id, dataset.id, admit=lambda _p, _e: None)
    with pytest.raises(NotFound):
        store.get_dataset(project.id, dataset.id)
    with pytest.raises(NotFound):
        store.delete_dataset(project.id, dataset.id)
