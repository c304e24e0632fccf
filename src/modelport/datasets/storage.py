"""The storage seam of datasets: write / read / exists / list objects by key.

The ONLY module that touches the filesystem, fsspec or s3fs for datasets. Keys are relative,
"/"-separated (e.g. `api/is-7/response/<id>.json`); a key that could leave the dataset's root
(`..`, an absolute path, a backslash) is refused. Writes are atomic: a reader sees the old
object or the whole new one, never a part (temp file + rename locally, one PUT on S3).
Calls block: async callers wrap them in `asyncio.to_thread`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from modelport.domain.datasets import Dataset, StorageCredentials, StorageKind
from modelport.domain.errors import InvalidSpec, PermanentError, TemporaryError
from modelport.security.secrets import SecretBox

MAX_KEY_LENGTH = 1024
_TEMP_PREFIX = ".tmp-"  # in-flight local writes; never listed, never a valid key segment


class ResultStorage(Protocol):
    def write(self, key: str, data: bytes) -> str:
        """Store `data` under `key` atomically; the object's location (path or URL)."""
        ...

    def read(self, key: str) -> bytes | None:
        """The object's bytes, or None if there is none."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> list[str]:
        """Keys starting with `prefix` (a plain string prefix, as in S3), sorted."""
        ...


def check_key(key: str, *, field: str = "key") -> str:
    """The key if it names an object inside the dataset; InvalidSpec naming `field` if not."""
    if not key or key.endswith("/"):
        raise InvalidSpec(f"{field}: must name an object, e.g. 'a/b.json'", field=field)
    return _check_path(key, field)


def check_prefix(prefix: str, *, field: str = "prefix") -> str:
    """A listing prefix: empty, or the start of a key (may end with '/' or mid-segment)."""
    if not prefix:
        return prefix
    _check_path(prefix.rstrip("/") or "/", field)
    return prefix


def _check_path(path: str, field: str) -> str:
    if len(path) > MAX_KEY_LENGTH:
        raise InvalidSpec(f"{field}: longer than {MAX_KEY_LENGTH} characters", field=field)
    if "\\" in path or "\x00" in path or path.startswith("/"):
        raise InvalidSpec(
            f"{field}: must be a relative '/'-separated path without '\\' or NUL", field=field
        )
    for segment in path.split("/"):
        if segment in ("", ".", "..") or segment.startswith(_TEMP_PREFIX):
            raise InvalidSpec(
                f"{field}: segments may not be empty, '.', '..' or start with '{_TEMP_PREFIX}'",
                field=field,
            )
    return path


class LocalStorage:
    """Objects as files under `root` (created on first write, mode 0700)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    @property
    def root(self) -> Path:
        return self._root

    def write(self, key: str, data: bytes) -> str:
        path = self._root / check_key(key)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)  # atomic on one filesystem: whole old or whole new
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return str(path)

    def read(self, key: str) -> bytes | None:
        try:
            return (self._root / check_key(key)).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def exists(self, key: str) -> bool:
        return (self._root / check_key(key)).is_file()

    def list(self, prefix: str) -> list[str]:
        check_prefix(prefix)
        # Walk only the deepest directory the prefix names fully.
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self._root / base if base else self._root
        if not start.is_dir():
            return []
        keys = []
        for directory, subdirs, files in os.walk(start):
            subdirs[:] = [d for d in subdirs if not d.startswith(_TEMP_PREFIX)]
            rel_dir = Path(directory).relative_to(self._root).as_posix()
            for name in files:
                if name.startswith(_TEMP_PREFIX):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)


@contextmanager
def _remote_errors(url: str) -> Iterator[None]:
    """The object store's refusals as domain errors (no credentials in any message)."""
    try:
        yield
    except PermissionError as exc:
        raise PermanentError(f"dataset storage {url} refused access: {exc}") from exc
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TemporaryError(f"dataset storage {url} is unavailable: {exc}", delay=5.0) from exc


class FsspecStorage:
    """Objects under an fsspec URL (s3://bucket/prefix, ...), through fsspec's filesystem."""

    def __init__(self, url: str, storage_options: dict[str, Any]) -> None:
        import fsspec  # only datasets on fsspec pay for importing it

        try:
            fs, root = fsspec.core.url_to_fs(url, **storage_options)
        except (ImportError, ValueError) as exc:
            raise PermanentError(f"cannot open dataset url: {exc}") from exc
        self._fs = fs
        self._root = root.rstrip("/")
        self._url = url

    def _path(self, key: str) -> str:
        return f"{self._root}/{key}"

    def write(self, key: str, data: bytes) -> str:
        path = self._path(check_key(key))
        with _remote_errors(self._url):
            self._fs.pipe_file(path, data)  # one PUT on S3 for result-sized objects: atomic
        self._fs.invalidate_cache(path)
        return str(self._fs.unstrip_protocol(path))

    def read(self, key: str) -> bytes | None:
        path = self._path(check_key(key))
        try:
            with _remote_errors(self._url):
                data = self._fs.cat_file(path)
        except FileNotFoundError:
            return None
        return bytes(data)

    def exists(self, key: str) -> bool:
        path = self._path(check_key(key))
        self._fs.invalidate_cache(path)
        with _remote_errors(self._url):
            return bool(self._fs.isfile(path))

    def list(self, prefix: str) -> list[str]:
        check_prefix(prefix)
        base = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self._path(base) if base else self._root
        self._fs.invalidate_cache(start)
        try:
            with _remote_errors(self._url):
                found = self._fs.find(start)
        except FileNotFoundError:
            return []
        cut = len(self._root) + 1
        keys = (str(path)[cut:] for path in found)
        return sorted(k for k in keys if k.startswith(prefix))


def storage_options(dataset: Dataset, box: SecretBox) -> dict[str, Any]:
    """fsspec's keyword arguments for the dataset: its options plus its unsealed credentials."""
    options: dict[str, Any] = {}
    if dataset.options.endpoint_url is not None:
        options["endpoint_url"] = dataset.options.endpoint_url
    if dataset.options.region is not None:
        options["client_kwargs"] = {"region_name": dataset.options.region}
    if dataset.sealed_credentials is not None:
        creds = StorageCredentials.model_validate_json(box.decrypt(dataset.sealed_credentials))
        options["key"] = creds.key
        options["secret"] = creds.secret
        if creds.token is not None:
            options["token"] = creds.token
    return options


def open_storage(dataset: Dataset, box: SecretBox) -> ResultStorage:
    """The dataset's storage; fsspec credentials are unsealed here and nowhere else."""
    if dataset.kind is StorageKind.LOCAL:
        return LocalStorage(Path(dataset.url))
    return FsspecStorage(dataset.url, storage_options(dataset, box))
