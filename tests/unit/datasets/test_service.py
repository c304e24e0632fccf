"""DatasetService.resolve, the contract async invocations use: a dataset by id (as TIR sends
it) or name, the project's default local dataset when none is named, a 4xx naming the field
for anything else. Real SQLite store."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from modelport.domain.datasets import StorageKind
from modelport.domain.errors import InvalidSpec
from modelport.domain.records import Project
from modelport.security.secrets import SecretBox
from modelport.services.datasets import DatasetService
from modelport.store import SqlStore, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'modelport.db'}")
    yield opened
    opened.close()


@pytest.fixture
def service(store: SqlStore, tmp_path: Path) -> DatasetService:
    return DatasetService(store, SecretBox(Fernet.generate_key()), tmp_path / "home" / "datasets")


@pytest.fixture
def project(store: SqlStore) -> Project:
    return store.create_project("team")


def test_none_is_the_default_local_dataset_created_once(
    service: DatasetService, project: Project, tmp_path: Path
) -> None:
    first = service.resolve(project.id, None)
    assert first.name == "default" and first.kind is StorageKind.LOCAL
    assert Path(first.url) == tmp_path / "home" / "datasets" / "team" / "default"
    assert service.resolve(project.id, None) == first

    location = service.storage(first).write("api/is-1/response/x.json", b"{}")
    assert Path(location).read_bytes() == b"{}"


def test_concurrent_first_uses_share_one_default(
    service: DatasetService, project: Project, store: SqlStore
) -> None:
    found: list[int] = []
    threads = [
        threading.Thread(target=lambda: found.append(service.resolve(project.id, None).id))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 1 and len(store.list_datasets(project.id)) == 1


def test_by_id_or_name_within_the_project_only(
    service: DatasetService, project: Project, store: SqlStore
) -> None:
    ours = store.create_dataset(project.id, "results", StorageKind.LOCAL, "/d/results")
    other = store.create_project("other")
    theirs = store.create_dataset(other.id, "theirs", StorageKind.LOCAL, "/d/theirs")

    assert service.resolve(project.id, str(ours.id)) == ours
    assert service.resolve(project.id, "results") == ours
    for ref in (str(theirs.id), "theirs", "999", "missing"):
        with pytest.raises(InvalidSpec) as err:
            service.resolve(project.id, ref)
        assert err.value.field == "spec.async_config.dataset_id"
    with pytest.raises(InvalidSpec) as err:
        service.resolve(project.id, "missing", field="async_dataset_id")
    assert err.value.field == "async_dataset_id"
