"""The model object store, the same tests on a local directory and on a real S3-compatible
server (moto over HTTP, authentication on): chunks append at the stored offset only, bytes
that landed before a broken body stay, a whole file becomes an object only if its sha256
matches, and ModelFiles hands the fetcher the files in place or copied and checked."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelport.domain.errors import Conflict, InvalidSpec, ModelUnavailable
from modelport.domain.models import SHA256_HEADER, ModelFile, ModelRecord, ModelStatus
from modelport.models.files import ModelFiles
from modelport.models.objects import ObjectStore, file_key, open_objects, upload_key
from tests.support.s3 import REGION, S3Server

DATA = bytes(range(256)) * 4096  # 1 MiB, not one repeated byte
SHA = hashlib.sha256(DATA).hexdigest()
UPLOAD = upload_key(1, 2, 3)
FINAL = file_key(1, 2, "weights/model.gguf")


@pytest.fixture(params=["local", "s3"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> ObjectStore:
    if request.param == "local":
        return open_objects(None, {}, tmp_path / "objects")
    s3: S3Server = request.getfixturevalue("s3_server")
    options = {
        "endpoint_url": s3.endpoint_url,
        "key": s3.key,
        "secret": s3.secret,
        "client_kwargs": {"region_name": REGION},
    }
    return open_objects(f"s3://{s3.new_bucket()}/repo", options, tmp_path / "unused")


def _read(objects: ObjectStore, key: str) -> bytes:
    with objects.open(key) as f:
        return f.read()


def test_chunks_resume_at_the_stored_offset_and_finish_whole(objects: ObjectStore) -> None:
    assert objects.stored(UPLOAD) == 0
    assert objects.append(UPLOAD, 0, [DATA[:1000], DATA[1000:300_000]]) == 300_000

    def broken() -> Iterator[bytes]:  # the client went away after 100 000 more bytes
        yield DATA[300_000:400_000]
        raise OSError("client disconnected")

    with pytest.raises(OSError, match="disconnected"):
        objects.append(UPLOAD, 300_000, broken())
    assert objects.stored(UPLOAD) == 400_000  # what landed stays: the client resumes there
    with pytest.raises(Conflict) as wrong:
        objects.append(UPLOAD, 300_000, [DATA[300_000:]])
    assert wrong.value.field == "Content-Range" and "400000" in wrong.value.message
    assert objects.append(UPLOAD, 400_000, [DATA[400_000:]]) == len(DATA)

    assert objects.finish(UPLOAD, FINAL, SHA) == len(DATA)
    assert _read(objects, FINAL) == DATA
    assert objects.stored(UPLOAD) == 0  # the upload's parts are gone


def test_a_wrong_sha256_discards_the_upload(objects: ObjectStore) -> None:
    objects.append(UPLOAD, 0, [DATA])
    with pytest.raises(InvalidSpec) as err:
        objects.finish(UPLOAD, FINAL, "0" * 64)
    assert err.value.field == SHA256_HEADER and SHA in err.value.message
    assert objects.stored(UPLOAD) == 0
    with pytest.raises(FileNotFoundError):
        _read(objects, FINAL)


def test_model_files_in_place_or_copied_and_checked(objects: ObjectStore, tmp_path: Path) -> None:
    paths = ("weights/model.gguf", "config.json")
    for n, path in enumerate(paths):
        objects.append(upload_key(1, 2, n), 0, [DATA[: 1000 * (n + 1)]])
        objects.finish(upload_key(1, 2, n), file_key(1, 2, path), _sha(DATA[: 1000 * (n + 1)]))
    files = tuple(
        ModelFile(path=p, size=1000 * (n + 1), sha256=_sha(DATA[: 1000 * (n + 1)]))
        for n, p in enumerate(paths)
    )
    model = _ready(files)
    seen: list[tuple[int, int]] = []

    ModelFiles(model, objects).copy_to(
        tmp_path / "copy", lambda done, total: seen.append((done, total))
    )

    assert (tmp_path / "copy/weights/model.gguf").read_bytes() == DATA[:1000]
    assert (tmp_path / "copy/config.json").read_bytes() == DATA[:2000]
    assert seen[-1] == (3000, 3000)
    in_place = ModelFiles(model, objects).local_dir
    if in_place is not None:  # the local store: replicas load the files where they are
        assert (in_place / "weights/model.gguf").read_bytes() == DATA[:1000]

    tampered = _ready((ModelFile(path="config.json", size=2000, sha256="f" * 64),))
    with pytest.raises(ModelUnavailable, match="sha256"):
        ModelFiles(tampered, objects).copy_to(tmp_path / "bad")
    objects.delete_tree("p1/m2")
    with pytest.raises(ModelUnavailable, match="missing"):
        ModelFiles(model, objects).copy_to(tmp_path / "gone")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ready(files: tuple[ModelFile, ...]) -> ModelRecord:
    now = datetime.now(UTC)
    return ModelRecord(
        id=2,
        project_id=1,
        name="smol",
        status=ModelStatus.READY,
        files=files,
        content_key="k" * 64,
        created_at=now,
        ready_at=now,
    )
