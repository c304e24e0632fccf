"""LocalStorage: objects as files under a directory, written atomically, keys kept inside it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from modelport.datasets.storage import LocalStorage
from modelport.domain.errors import InvalidSpec


def test_write_read_exists_list(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "ds")
    location = storage.write("api/is-7/response/a.json", b'{"ok": 1}')

    assert location == str(tmp_path / "ds" / "api/is-7/response/a.json")
    assert storage.read("api/is-7/response/a.json") == b'{"ok": 1}'
    assert storage.exists("api/is-7/response/a.json")
    assert not storage.exists("api/is-7/response/b.json")
    assert storage.read("api/is-7/response/b.json") is None

    storage.write("api/is-7/response/b.json", b"2")
    storage.write("api/is-8/response/c.json", b"3")
    storage.write("top.json", b"4")
    assert storage.list("api/is-7/") == ["api/is-7/response/a.json", "api/is-7/response/b.json"]
    assert storage.list("api/is-") == [
        "api/is-7/response/a.json",
        "api/is-7/response/b.json",
        "api/is-8/response/c.json",
    ]
    assert storage.list("") == [*storage.list("api/"), "top.json"]
    assert storage.list("nothing/here") == []


def test_overwrite_replaces_whole_object(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.write("k.json", b"first")
    storage.write("k.json", b"second")
    assert storage.read("k.json") == b"second"
    assert storage.list("") == ["k.json"]  # no temp file left behind


def test_readers_never_see_a_partial_object(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    big_a, big_b = b"a" * 2_000_000, b"b" * 2_000_000
    storage.write("r.json", big_a)
    seen: set[bytes | None] = set()
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            data = storage.read("r.json")
            seen.add(None if data is None else data[:1] + data[-1:] + bytes([len(data) % 251]))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(30):
            storage.write("r.json", big_a if i % 2 else big_b)
    finally:
        stop.set()
        thread.join()
    whole = {b"aa" + bytes([2_000_000 % 251]), b"bb" + bytes([2_000_000 % 251])}
    assert seen <= whole
    assert seen  # the reader did read


def test_failed_write_leaves_old_object_and_no_temp(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    storage.write("d/k.json", b"old")

    with pytest.raises(TypeError):
        storage.write("d/k.json", 123)  # type: ignore[arg-type]
    assert storage.read("d/k.json") == b"old"
    assert os.listdir(tmp_path / "d") == ["k.json"]


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b", "a\\b", "dir/", ".tmp-x"]
)
def test_keys_that_could_leave_the_root_are_refused(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "ds")
    with pytest.raises(InvalidSpec) as err:
        storage.write(key, b"x")
    assert err.value.field == "key"
    with pytest.raises(InvalidSpec):
        storage.read(key)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("prefix", ["/abs", "../", "a/../b"])
def test_bad_list_prefix_is_refused(tmp_path: Path, prefix: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        LocalStorage(tmp_path).list(prefix)
    assert err.value.field == "prefix"
