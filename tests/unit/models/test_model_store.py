"""Models in the store (SQLite and PostgreSQL): project-scoped names, uploads that become
files in one step, READY only with no upload in progress, deletion under the caller's
admission."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from modelport.clock import FakeClock
from modelport.domain.errors import Conflict, NotFound
from modelport.domain.models import ModelFile, ModelStatus, content_key
from modelport.domain.records import Endpoint, Project
from modelport.store import SqlStore

SHA_A = "a" * 64
SHA_B = "b" * 64


def test_upload_then_ready_round_trip(store: SqlStore, project: Project, clock: FakeClock) -> None:
    model = store.create_model(project.id, "smol", "a small model")
    assert model.status is ModelStatus.UPLOADING and model.files == ()
    with pytest.raises(Conflict):  # nothing to serve yet
        store.mark_model_ready(model.id, clock.now())

    first = store.create_model_upload(model.id, "weights/b.gguf", 3_000_000_000, SHA_B)
    assert store.get_model_upload(model.id, "weights/b.gguf") == first
    with pytest.raises(Conflict):  # one upload per path at a time
        store.create_model_upload(model.id, "weights/b.gguf", 1, SHA_B)
    store.complete_model_upload(
        first.id, ModelFile(path="weights/b.gguf", size=3_000_000_000, sha256=SHA_B)
    )
    second = store.create_model_upload(model.id, "a.json", 2, SHA_A)
    with pytest.raises(Conflict) as busy:
        store.mark_model_ready(model.id, clock.now())
    assert "a.json" in busy.value.message
    store.complete_model_upload(second.id, ModelFile(path="a.json", size=2, sha256=SHA_A))

    files = store.get_model(project.id, model.id).files
    assert [f.path for f in files] == ["a.json", "weights/b.gguf"]  # sorted, big sizes kept
    assert files[1].size == 3_000_000_000 and store.list_model_uploads(model.id) == []
    ready = store.mark_model_ready(model.id, clock.now())
    assert ready.status is ModelStatus.READY and ready.content_key == content_key(files)
    assert store.get_model_by_name(project.id, "smol") == ready
    assert store.list_models(project.id) == [ready]
    with pytest.raises(Conflict):  # READY models are immutable
        store.create_model_upload(model.id, "c", 1, SHA_A)
    with pytest.raises(Conflict):
        store.mark_model_ready(model.id, clock.now())


def test_a_replaced_file_keeps_one_row(store: SqlStore, project: Project) -> None:
    model = store.create_model(project.id, "smol")
    for sha in (SHA_A, SHA_B):
        upload = store.create_model_upload(model.id, "f", 1, sha)
        store.complete_model_upload(upload.id, ModelFile(path="f", size=1, sha256=sha))
    assert store.get_model(project.id, model.id).files == (
        ModelFile(path="f", size=1, sha256=SHA_B),
    )
    discarded = store.create_model_upload(model.id, "g", 1, SHA_A)
    store.delete_model_upload(discarded.id)
    with pytest.raises(Conflict):
        store.complete_model_upload(discarded.id, ModelFile(path="g", size=1, sha256=SHA_A))


def test_names_are_per_project_and_others_are_not_found(store: SqlStore, project: Project) -> None:
    other = store.create_project("team-b")
    mine = store.create_model(project.id, "smol")
    with pytest.raises(Conflict) as taken:
        store.create_model(project.id, "smol")
    assert taken.value.field == "name"
    theirs = store.create_model(other.id, "smol")
    for lookup in (
        lambda: store.get_model(project.id, theirs.id),
        lambda: store.get_model_by_name(project.id, "other"),
        lambda: store.delete_model(project.id, theirs.id),
    ):
        with pytest.raises(NotFound):
            lookup()
    assert store.list_models(project.id) == [mine]


def test_delete_is_judged_under_the_project_lock(
    store: SqlStore, project: Project, endpoint: Endpoint
) -> None:
    model = store.create_model(project.id, "smol")
    upload = store.create_model_upload(model.id, "f", 1, SHA_A)
    store.complete_model_upload(upload.id, ModelFile(path="f", size=1, sha256=SHA_A))
    kept = store.get_model(project.id, model.id)
    seen: list[str] = []

    def refuse(_project: Project, endpoints: Sequence[Endpoint]) -> None:
        seen.extend(e.name for e in endpoints)
        raise Conflict("in use", field="name")

    with pytest.raises(Conflict):
        store.delete_model(project.id, model.id, admit=refuse)
    assert seen == [endpoint.name] and store.get_model(project.id, model.id) == kept
    store.delete_model(project.id, model.id, admit=lambda _p, _e: None)
    with pytest.raises(NotFound):
        store.get_model(project.id, model.id)
