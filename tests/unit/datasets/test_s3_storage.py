"""Datasets on S3 through open_storage, against a real S3-compatible server (moto's server
mode over HTTP, authentication on): credentials come from the sealed secret only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet

from modelport.datasets.storage import ResultStorage, open_storage
from modelport.domain.datasets import Dataset, StorageCredentials, StorageKind, StorageOptions
from modelport.domain.errors import InvalidSpec, PermanentError
from modelport.security.secrets import SecretBox
from tests.support.s3 import REGION, S3Server


@pytest.fixture
def box() -> SecretBox:
    return SecretBox(Fernet.generate_key())


def s3_dataset(s3: S3Server, box: SecretBox, url: str, *, secret: str | None = None) -> Dataset:
    creds = StorageCredentials(key=s3.key, secret=secret or s3.secret)
    return Dataset(
        id=1,
        project_id=1,
        name="results",
        kind=StorageKind.FSSPEC,
        url=url,
        options=StorageOptions(endpoint_url=s3.endpoint_url, region=REGION),
        sealed_credentials=box.encrypt(creds.model_dump_json()),
        created_at=datetime.now(UTC),
    )


@pytest.fixture
def storage(s3_server: S3Server, box: SecretBox) -> tuple[ResultStorage, str]:
    bucket = s3_server.new_bucket()
    return open_storage(s3_dataset(s3_server, box, f"s3://{bucket}/prefix"), box), bucket


def test_write_read_exists_list(s3_server: S3Server, storage: tuple[ResultStorage, str]) -> None:
    store, bucket = storage
    location = store.write("api/is-7/response/a.json", b'{"ok": 1}')

    assert location == f"s3://{bucket}/prefix/api/is-7/response/a.json"
    assert store.read("api/is-7/response/a.json") == b'{"ok": 1}'
    assert store.exists("api/is-7/response/a.json")
    assert not store.exists("api/is-7/response/b.json")
    assert store.read("api/is-7/response/b.json") is None

    store.write("api/is-7/response/b.json", b"2")
    store.write("api/is-8/response/c.json", b"3")
    assert store.list("api/is-7/") == ["api/is-7/response/a.json", "api/is-7/response/b.json"]
    assert store.list("api/is-") == [*store.list("api/is-7/"), "api/is-8/response/c.json"]
    assert store.list("nothing/") == []
    # What other S3 clients see: one object per key under the dataset's prefix.
    listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        "prefix/api/is-7/response/a.json",
        "prefix/api/is-7/response/b.json",
        "prefix/api/is-8/response/c.json",
    ]


def test_overwrite_is_one_whole_object(storage: tuple[ResultStorage, str]) -> None:
    store, _ = storage
    store.write("k.json", b"a" * 3_000_000)
    store.write("k.json", b"b" * 3_000_000)
    assert store.read("k.json") == b"b" * 3_000_000
    assert store.list("") == ["k.json"]


def test_a_new_storage_sees_what_another_wrote(
    s3_server: S3Server, box: SecretBox, storage: tuple[ResultStorage, str]
) -> None:
    store, bucket = storage
    other = open_storage(s3_dataset(s3_server, box, f"s3://{bucket}/prefix"), box)
    assert not other.exists("late.json")
    store.write("late.json", b"x")
    assert other.exists("late.json")  # no stale listing cache
    assert other.list("l") == ["late.json"]


def test_wrong_sealed_secret_is_refused_by_the_server(s3_server: S3Server, box: SecretBox) -> None:
    bucket = s3_server.new_bucket()
    wrong = open_storage(s3_dataset(s3_server, box, f"s3://{bucket}", secret="not-it"), box)
    with pytest.raises(PermanentError) as err:
        wrong.write("a.json", b"x")
    assert "not-it" not in str(err.value)
    assert "Contents" not in s3_server.client().list_objects_v2(Bucket=bucket)


def test_credentials_are_only_in_the_sealed_field(s3_server: S3Server, box: SecretBox) -> None:
    dataset = s3_dataset(s3_server, box, "s3://somewhere")
    shown = dataset.model_dump_json() + repr(dataset)
    assert s3_server.secret not in shown and s3_server.key not in shown
    other_box = SecretBox(Fernet.generate_key())
    with pytest.raises(PermanentError):  # sealed with another server's key: not readable
        open_storage(dataset, other_box)


def test_keys_are_checked_before_any_request(storage: tuple[ResultStorage, str]) -> None:
    store, _ = storage
    with pytest.raises(InvalidSpec):
        store.write("../escape.json", b"x")
    with pytest.raises(InvalidSpec):
        store.list("/abs")
