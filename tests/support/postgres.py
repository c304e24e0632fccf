"""A real, throwaway PostgreSQL cluster for tests (session-wide), one fresh database per test.

Use from a conftest: `from tests.support.postgres import postgres_server, postgres_url`.
PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` OS user.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import need

START_TIMEOUT_S = 30.0
_database_numbers = itertools.count(1)


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"test_{os.getpid()}_{next(_database_numbers)}"
        dsn = f"host={self.host} port={self.port} user={self.user} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name is ours: digits and '_' only
        return self.url(name)


def find_bindir() -> Path | None:
    """Where initdb, pg_ctl and postgres live, or None when PostgreSQL is not installed."""
    candidates: list[str] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for directory in candidates:
        if directory and all((Path(directory) / b).exists() for b in ("initdb", "postgres")):
            return Path(directory)
    return None


def _run_as() -> dict[str, Any]:
    """subprocess arguments that drop root to the `postgres` user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        need(False, "running as root and there is no 'postgres' OS user to run PostgreSQL as")
        raise
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_until_ready(server: PostgresServer, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    dsn = f"host={server.host} port={server.port} user={server.user} dbname=postgres"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited early with status {process.returncode}")
        try:
            with psycopg.connect(dsn, connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    need(bindir is not None, "PostgreSQL server binaries (initdb, postgres) are not installed")
    assert bindir is not None
    run_as = _run_as()
    # Not under pytest's tmp dir: that is mode 0700 and root's, unreadable to `postgres`.
    root = Path(tempfile.mkdtemp(prefix="modelport-pg-"))
    data = root / "data"
    log = root / "postgres.log"
    if run_as:
        os.chown(root, run_as["user"], run_as["group"])
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            **run_as,
        )
        server = PostgresServer(host="127.0.0.1", port=_free_port(), user="postgres")
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [
                    bindir / "postgres",
                    "-D",
                    data,
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"port={server.port}",
                    "-c",
                    f"unix_socket_directories={root}",
                    # Throwaway data: durability costs time and buys nothing here.
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
                **run_as,
            )
        try:
            _wait_until_ready(server, process)
        except Exception as exc:
            raise RuntimeError(f"postgres did not start; log:\n{log.read_text()}") from exc
        yield server
    finally:
        if process is not None:
            pg_ctl = bindir / "pg_ctl"
            subprocess.run(
                [pg_ctl, "stop", "-D", data, "-m", "immediate"],
                capture_output=True,
                check=False,
                **run_as,
            )
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh, empty database on the session's cluster, as a postgresql+psycopg URL."""
    return postgres_server.create_database()
