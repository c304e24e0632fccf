"""Chunked, resumable file uploads: what one PUT carries (its byte range of the whole file),
the body cut to that range, and one writer per file at a time in this process."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from modelport.domain.errors import Conflict
from modelport.domain.models import BadFilePath

CONTENT_RANGE = "Content-Range"
CONTENT_LENGTH = "Content-Length"
_RANGE = re.compile(r"bytes (\d{1,19})-(\d{1,19})/(\d{1,19})")


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes [start, start + length) of a file of `total` bytes."""

    start: int
    length: int
    total: int
    field: str  # the header that said so, for errors about it

    @property
    def last(self) -> bool:
        return self.start + self.length == self.total


def parse_chunk(content_range: str | None, content_length: str | None) -> Chunk:
    """`Content-Range: bytes S-E/T` (E inclusive), or no range: the whole file is the body,
    of Content-Length bytes. BadFilePath-style 400s naming the header otherwise."""
    length = _length(content_length)
    if content_range is None:
        if length is None:
            raise _bad(CONTENT_LENGTH, "required when no Content-Range is sent")
        return Chunk(0, length, length, CONTENT_LENGTH)
    match = _RANGE.fullmatch(content_range.strip())
    if match is None:
        raise _bad(CONTENT_RANGE, "must be 'bytes START-END/TOTAL' (END inclusive)")
    start, end, total = (int(g) for g in match.groups())
    if not start <= end < total:
        raise _bad(CONTENT_RANGE, "needs START <= END < TOTAL")
    if length is not None and length != end - start + 1:
        raise _bad(CONTENT_LENGTH, f"is {length} but Content-Range covers {end - start + 1}")
    return Chunk(start, end - start + 1, total, CONTENT_RANGE)


def _length(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise _bad(CONTENT_LENGTH, "must be a number of bytes")
    return int(value)


def _bad(header: str, why: str) -> BadFilePath:
    # A 400 naming the header: the request itself is malformed, whatever is stored.
    return BadFilePath(f"{header}: {why}", field=header)


def within(body: Iterable[bytes], chunk: Chunk) -> Iterator[bytes]:
    """The body, refused (400 naming the range's header) past the bytes the range covers;
    what came before stays written."""
    left = chunk.length
    for part in body:
        if len(part) > left:
            raise _bad(chunk.field, f"the body is longer than the {chunk.length} bytes it covers")
        left -= len(part)
        if part:
            yield part


class Writers:
    """One request writes a given file at a time (per server process): a second one gets 409
    at once instead of interleaving its bytes."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._busy: set[tuple[int, str]] = set()

    @contextmanager
    def hold(self, model_id: int, path: str) -> Iterator[None]:
        key = (model_id, path)
        with self._guard:
            if key in self._busy:
                raise Conflict(f"path: '{path}' is being written by another request", field="path")
            self._busy.add(key)
        try:
            yield
        finally:
            with self._guard:
                self._busy.discard(key)
