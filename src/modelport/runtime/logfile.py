"""A replica's log file as the runtimes keep it (local processes write it; containers' output
is copied into it): the last bytes of it, for `modelport logs`."""

from __future__ import annotations

import os
from pathlib import Path


def tail(path: Path, tail_bytes: int) -> str:
    """The file's last `tail_bytes` bytes as text ("" when there is no file yet)."""
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - max(tail_bytes, 0)))
            return f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
