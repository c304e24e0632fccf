"""The model repository's object store: a local directory (the default) or any fsspec URL
(s3://bucket/prefix with options). The ONLY module that touches the filesystem or fsspec for
uploaded models.

Keys are relative and built here (`model_prefix`, `file_key`, `upload_key`); file paths were
checked by domain/models.check_file_path. A file upload in progress is kept apart from the
model's files and becomes one only once all of it landed and its sha256 matched, so a model's
files are always whole. Calls block: async callers run them in a thread.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Protocol

from modelport.domain.errors import Conflict, InvalidSpec, PermanentError, TemporaryError
from modelport.domain.models import SHA256_HEADER

BLOCK = 1024 * 1024  # bytes read at a time when hashing or copying
_PART_DIGITS = 16  # fsspec upload parts are named by their zero-padded offset


def model_prefix(project_id: int, model_id: int) -> str:
    return f"p{project_id}/m{model_id}"


def files_prefix(project_id: int, model_id: int) -> str:
    """Where a model's finished files are, laid out by their paths (a local store's
    directory of it is the model as replicas load it)."""
    return f"{model_prefix(project_id, model_id)}/files"


def file_key(project_id: int, model_id: int, path: str) -> str:
    return f"{files_prefix(project_id, model_id)}/{path}"


def upload_key(project_id: int, model_id: int, upload_id: int) -> str:
    return f"{model_prefix(project_id, model_id)}/uploads/u{upload_id}"


class ObjectStore(Protocol):
    def stored(self, upload: str) -> int:
        """Bytes of the upload stored so far (0: none); a resumed upload starts here."""
        ...

    def append(self, upload: str, offset: int, chunks: Iterable[bytes]) -> int:
        """Add `chunks` at `offset` (Conflict unless it is what is stored); bytes stored now.
        Bytes that arrived before a broken connection stay stored."""
        ...

    def finish(self, upload: str, final: str, sha256: str) -> int:
        """Make the whole upload the object `final` if its sha256 matches (its size);
        otherwise discard it and raise InvalidSpec naming the sha256 header."""
        ...

    def discard(self, upload: str) -> None: ...

    def delete_tree(self, prefix: str) -> None:
        """Every object under `prefix` (a model's); absent is fine."""
        ...

    def local_dir(self, prefix: str) -> Path | None:
        """The directory holding `prefix`'s objects as files, when the store is local."""
        ...

    def open(self, key: str) -> IO[bytes]: ...


def _mismatch(expected: str, actual: str) -> InvalidSpec:
    return InvalidSpec(
        f"{SHA256_HEADER}: the file's sha256 is {actual}, not {expected}; the upload was "
        "discarded, upload the file again",
        field=SHA256_HEADER,
    )


def _not_at(offset: int, stored: int) -> Conflict:
    return Conflict(
        f"Content-Range: starts at byte {offset} but {stored} bytes are stored; "
        f"resume from byte {stored}",
        field="Content-Range",
    )


class LocalObjects:
    """Objects as files under `root`: directories 0755 and files 0644, so replicas running
    as other users read a model's files in place (no copy)."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        return self._root / key

    def _mkdirs(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o755)

    def stored(self, upload: str) -> int:
        try:
            return self._path(upload).stat().st_size
        except FileNotFoundError:
            return 0

    def append(self, upload: str, offset: int, chunks: Iterable[bytes]) -> int:
        path = self._path(upload)
        self._mkdirs(path.parent)
        with path.open("ab") as f:
            if f.tell() != offset:
                raise _not_at(offset, f.tell())
            try:
                for chunk in chunks:
                    f.write(chunk)
            finally:
                f.flush()
            return f.tell()

    def finish(self, upload: str, final: str, sha256: str) -> int:
        source = self._path(upload)
        digest = hashlib.sha256()
        with source.open("rb") as f:
            while block := f.read(BLOCK):
                digest.update(block)
        if digest.hexdigest() != sha256:
            source.unlink(missing_ok=True)
            raise _mismatch(sha256, digest.hexdigest())
        target = self._path(final)
        self._mkdirs(target.parent)
        source.chmod(0o644)
        os.replace(source, target)  # one filesystem: the file appears whole
        return target.stat().st_size

    def discard(self, upload: str) -> None:
        self._path(upload).unlink(missing_ok=True)

    def delete_tree(self, prefix: str) -> None:
        top = self._path(prefix)
        if not top.exists():
            return
        for directory, subdirs, files in os.walk(top, topdown=False):
            for name in files:
                Path(directory, name).unlink(missing_ok=True)
            for name in subdirs:
                Path(directory, name).rmdir()
        top.rmdir()

    def local_dir(self, prefix: str) -> Path | None:
        return self._path(prefix)

    def open(self, key: str) -> IO[bytes]:
        return self._path(key).open("rb")


@contextmanager
def _remote_errors(url: str) -> Iterator[None]:
    """The object store's refusals as domain errors (never its credentials)."""
    try:
        yield
    except PermissionError as exc:
        raise PermanentError(f"model object store {url} refused access: {exc}") from exc
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise TemporaryError(f"model object store {url} is unavailable: {exc}", delay=5.0) from exc


class FsspecObjects:
    """Objects under an fsspec URL. An upload is a run of part objects named by their offset
    (`<upload>/<offset>`), so each chunk is one plain PUT and a resumed upload adds parts;
    finishing streams the parts into the final object once, hashing as it goes."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        import fsspec  # only servers on an object store pay for importing it

        try:
            fs, root = fsspec.core.url_to_fs(url, **options)
        except (ImportError, ValueError) as exc:
            raise PermanentError(f"cannot open the model object store: {exc}") from exc
        self._fs = fs
        self._root = root.rstrip("/")
        self._url = url

    def _path(self, key: str) -> str:
        return f"{self._root}/{key}"

    def _parts(self, upload: str) -> list[tuple[str, int]]:
        """The contiguous parts from offset 0, as (path, size); a part after a gap is ignored."""
        top = self._path(upload)
        self._fs.invalidate_cache(top)
        try:
            with _remote_errors(self._url):
                found = self._fs.find(top, detail=True)
        except FileNotFoundError:
            return []
        parts: list[tuple[str, int]] = []
        at = 0
        for path in sorted(found):
            if path.rsplit("/", 1)[-1] != f"{at:0{_PART_DIGITS}d}":
                break
            size = int(found[path]["size"])
            parts.append((path, size))
            at += size
        return parts

    def stored(self, upload: str) -> int:
        return sum(size for _, size in self._parts(upload))

    def append(self, upload: str, offset: int, chunks: Iterable[bytes]) -> int:
        stored = self.stored(upload)
        if stored != offset:
            raise _not_at(offset, stored)
        part = f"{self._path(upload)}/{offset:0{_PART_DIGITS}d}"
        written = 0
        with _remote_errors(self._url):
            f = self._fs.open(part, "wb")
        try:  # the body's own errors (a client gone) pass through as they are
            for chunk in chunks:
                f.write(chunk)
                written += len(chunk)
        finally:
            with _remote_errors(self._url):
                f.close()  # commits what arrived, also after a broken body
        if written == 0:
            self._fs.rm(part)  # an empty part would stop the next one being found
        return offset + written

    def finish(self, upload: str, final: str, sha256: str) -> int:
        staging = f"{self._path(upload)}.whole"
        digest = hashlib.sha256()
        size = 0
        with _remote_errors(self._url):
            with self._fs.open(staging, "wb") as out:
                for path, _ in self._parts(upload):
                    with self._fs.open(path, "rb") as part:
                        while block := part.read(BLOCK):
                            digest.update(block)
                            out.write(block)
                            size += len(block)
            if digest.hexdigest() != sha256:
                self._fs.rm(staging)
                self.discard(upload)
                raise _mismatch(sha256, digest.hexdigest())
            self._fs.mv(staging, self._path(final))
            self.discard(upload)
        return size

    def discard(self, upload: str) -> None:
        self._rm(self._path(upload))

    def delete_tree(self, prefix: str) -> None:
        self._rm(self._path(prefix))

    def _rm(self, path: str) -> None:
        try:
            with _remote_errors(self._url):
                self._fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass
        self._fs.invalidate_cache(path)

    def local_dir(self, prefix: str) -> Path | None:
        return None

    def open(self, key: str) -> IO[bytes]:
        with _remote_errors(self._url):
            f: IO[bytes] = self._fs.open(self._path(key), "rb")
        return f


def open_objects(url: str | None, options: dict[str, Any], default_dir: Path) -> ObjectStore:
    """The configured store: an fsspec URL (with '://'), a directory, or `default_dir`."""
    if url is not None and "://" in url:
        return FsspecObjects(url, options)
    return LocalObjects(Path(url) if url else default_dir)
