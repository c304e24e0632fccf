"""An engine install's progress on a terminal (the installer's and `make run`'s): one line
rewritten in place, or, where the output is no terminal (a log, CI), a line when the step
changes and one every `every` seconds, so a long build never looks hung nor floods a log."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from modelport.engines.install_status import EngineInstall, InstallStep


class StatusLine:
    def __init__(
        self, stream: TextIO, every: float = 30.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._every = every
        self._monotonic = monotonic
        self._lock = threading.Lock()  # the installer's ticker and its reader both show
        self._shown_at: float | None = None
        self._shown_step: InstallStep | None = None
        self.latest: EngineInstall | None = None

    def show(self, status: EngineInstall, now: datetime, final: bool = False) -> None:
        """Show `status`; `final` ends the line (the install is over)."""
        with self._lock:
            self.latest = status
            line = status.status_line(now)
            if self._tty:
                width = shutil.get_terminal_size().columns - 1
                self._stream.write("\r\x1b[K" + line[:width] + ("\n" if final else ""))
            elif final or status.step is not self._shown_step or self._due():
                self._stream.write(line + "\n")
                self._shown_at, self._shown_step = self._monotonic(), status.step
            self._stream.flush()

    def _due(self) -> bool:
        return self._shown_at is None or self._monotonic() - self._shown_at >= self._every
