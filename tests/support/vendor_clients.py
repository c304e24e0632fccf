"""Drive the vendors' official clients (installed by scripts/setup.sh --dev in .venv-clients,
on Python 3.12 where the machine has it) from tests: a driver script under tests/clients/drivers
runs in that venv and performs one named operation per call."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# MODELPORT_CLIENTS_VENV: another venv with the same clients (e.g. to try the Python 3.11 one).
CLIENTS_VENV = Path(os.environ.get("MODELPORT_CLIENTS_VENV") or REPO / ".venv-clients")
DRIVERS = REPO / "tests" / "clients" / "drivers"


def clients_python() -> Path:
    python = CLIENTS_VENV / "bin" / "python"
    if not python.exists():
        raise RuntimeError(
            f"{python} is missing: run `scripts/setup.sh --dev` (it installs the vendors' clients)"
        )
    return python


def clients_bin(name: str) -> Path:
    """A console script of the clients' venv, e.g. Tensormesh's `tm`."""
    clients_python()
    return CLIENTS_VENV / "bin" / name


@dataclass
class Answer:
    """What one operation returned, printed, and every HTTP exchange it made."""

    ok: bool
    result: Any
    printed: str
    http: list[dict[str, Any]]
    error: dict[str, str] | None = None
    traceback: str = ""
    statuses: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.statuses = [int(exchange["status"]) for exchange in self.http]


class ClientError(AssertionError):
    def __init__(self, op: str, answer: Answer) -> None:
        super().__init__(
            f"{op} raised {answer.error}\n{answer.traceback}\nprinted: {answer.printed}"
        )
        self.answer = answer


class ClientDriver:
    """One long-lived driver process; `call` runs an operation and returns its Answer."""

    def __init__(self, script: str, env: dict[str, str], log: Path) -> None:
        self._log = log.open("ab")
        self._proc = subprocess.Popen(
            [str(clients_python()), str(DRIVERS / script)],
            env={**env, "PYTHONPATH": str(DRIVERS), "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )

    def call(self, op: str, **args: Any) -> Answer:
        """The operation's Answer; raises ClientError if it raised. No 5xx may occur."""
        answer = self.attempt(op, **args)
        if not answer.ok:
            raise ClientError(op, answer)
        return answer

    def attempt(self, op: str, **args: Any) -> Answer:
        """The operation's Answer, raised or not (for calls that are meant to fail)."""
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"op": op, "args": args}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {op} driver exited; its stderr is in {self._log.name}")
        answer = Answer(**json.loads(line))
        server_errors = [x for x in answer.http if int(x["status"]) >= 500]
        assert not server_errors, f"{op}: the server answered 5xx: {server_errors}"
        return answer

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()


def server_log_problems(log_text: str) -> list[str]:
    """Lines of a server log that show a traceback or an unhandled error (a 500)."""
    return [
        line
        for line in log_text.splitlines()
        if "Traceback" in line or "unhandled error" in line or " 500 " in line
    ]
