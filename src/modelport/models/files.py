"""What the model fetcher gets from the repository: a READY model's files, in place on this
host (local object store) or copied out of the object store on request."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from modelport.domain.errors import ModelUnavailable
from modelport.domain.models import ModelRecord
from modelport.models.objects import BLOCK, ObjectStore, file_key, files_prefix

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)


@dataclass(frozen=True, slots=True)
class ModelFiles:
    model: ModelRecord  # READY: its content_key and manifest (files with size and sha256)
    objects: ObjectStore

    @property
    def content_key(self) -> str:
        assert self.model.content_key is not None  # READY models have one
        return self.model.content_key

    @property
    def local_dir(self) -> Path | None:
        """The model's files in place (local object store): no copy needed; None: copy_to."""
        directory = self.objects.local_dir(files_prefix(self.model.project_id, self.model.id))
        return directory if directory is not None and directory.is_dir() else None

    def copy_to(self, dest: Path, progress: Progress | None = None) -> None:
        """Every file into `dest` under its path, each checked against its sha256 while it is
        copied; ModelUnavailable if one is missing or differs (e.g. deleted meanwhile)."""
        total, done = self.model.total_size, 0
        for f in self.model.files:
            target = dest / f.path
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            try:
                with (
                    self.objects.open(
                        file_key(self.model.project_id, self.model.id, f.path)
                    ) as src,
                    target.open("wb") as out,
                ):
                    while block := src.read(BLOCK):
                        digest.update(block)
                        out.write(block)
                        done += len(block)
                        if progress is not None:
                            progress(done, total)
            except FileNotFoundError as exc:
                raise ModelUnavailable(
                    f"model '{self.model.name}': file '{f.path}' is missing from the object store"
                ) from exc
            if digest.hexdigest() != f.sha256:
                raise ModelUnavailable(
                    f"model '{self.model.name}': file '{f.path}' does not match its sha256; "
                    "upload the model again"
                )
