"""A bounded, steady request loop that records every failure (used while we break things)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from openai import OpenAI


@dataclass
class TrafficResult:
    ok: int = 0
    failures: list[str] = field(default_factory=list)


class SteadyTraffic:
    """Sends chat completions one after another from a few threads until stopped.

    The openai SDK's own retries are off: every failed request counts.
    """

    def __init__(self, base_url: str, api_key: str, model: str, threads: int = 2):
        self._client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)
        self._model = model
        self._threads = threads
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self.result = TrafficResult()

    def __enter__(self) -> SteadyTraffic:
        for _ in range(self._threads):
            t = threading.Thread(target=self._loop, daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(timeout=120)

    def wait_for_ok(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        target = self.result.ok + count
        while self.result.ok < target and time.monotonic() < deadline:
            time.sleep(0.1)

    def _loop(self) -> None:
        deadline = time.monotonic() + 600  # bounded even if the test forgets to stop us
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                reply = self._client.chat.completions.create(
                    model=self._model,
                    messages=[{"role": "user", "content": "Say hi"}],
                    max_tokens=4,
                )
                assert reply.choices, "no choices in the reply"
                with self._lock:
                    self.result.ok += 1
            except Exception as exc:
                with self._lock:
                    self.result.failures.append(f"{type(exc).__name__}: {exc}")
