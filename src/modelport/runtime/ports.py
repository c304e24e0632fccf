"""Free loopback ports for new replicas, never the same one twice within a short window."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from modelport.domain.errors import TemporaryError

# A port handed out but not yet bound by its engine looks free to the kernel; remember it this
# long so replicas started in the same controller tick never share a port.
HOLD_SECONDS = 60.0
_ATTEMPTS = 64


class PortAllocator:
    def __init__(
        self,
        host: str,
        hold_seconds: float = HOLD_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host = host
        self._hold = hold_seconds
        self._monotonic = monotonic
        self._handed_out: dict[int, float] = {}  # port -> when it was handed out

    def allocate(self) -> int:
        now = self._monotonic()
        self._handed_out = {p: t for p, t in self._handed_out.items() if now - t < self._hold}
        for _ in range(_ATTEMPTS):
            port = self._kernel_pick()
            if port not in self._handed_out:
                self._handed_out[port] = now
                return port
        raise TemporaryError(f"no free port on {self._host} after {_ATTEMPTS} attempts")

    def _kernel_pick(self) -> int:
        family, kind, proto, _, address = socket.getaddrinfo(
            self._host, 0, type=socket.SOCK_STREAM
        )[0]
        with socket.socket(family, kind, proto) as sock:
            sock.bind(address)
            port: int = sock.getsockname()[1]
            return port
