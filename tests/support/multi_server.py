"""Several real `modelport server` processes over one real PostgreSQL, as several hosts would run.

Each server has its own port and home (its own logs, its own replica processes) and they share
the database URL and the secret key, as docs/deploy.md tells an operator to. The first server
bootstraps the database, so only its home holds the admin token; the others use the same one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select

from modelport.controller.loop import LEASE_NAME
from modelport.services.bootstrap import write_private_file
from modelport.store.tables import leases
from tests.support.server import ServerProcess, kill_replicas, wait_until

_LEADS = re.compile(r"controller (\S+) leads \(lease generation (\d+)\)")
_STARTED = re.compile(r"modelport\.runtime\.local: started (\S+) as pid (\d+)")


@dataclass(frozen=True)
class Lease:
    holder: str
    generation: int


class LeaseWatch:
    """Reads the controller lease row straight from the shared database (what the servers see)."""

    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url, pool_size=1)

    def current(self) -> Lease | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                select(leases.c.holder, leases.c.generation).where(leases.c.name == LEASE_NAME)
            ).first()
        return None if row is None else Lease(holder=row.holder, generation=row.generation)

    def wait_for_holder_other_than(self, holder: str, timeout: float) -> Lease | None:
        """Poll (every 20 ms) until someone else holds the lease; None if not within timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lease = self.current()
            if lease is not None and lease.holder != holder:
                return lease
            time.sleep(0.02)
        return None

    def close(self) -> None:
        self._engine.dispose()


def controller_id(srv: ServerProcess) -> str | None:
    """The holder id the server's controller leads with, from its log; None if it never led."""
    found = _LEADS.findall(srv.log_path.read_text())
    return found[-1][0] if found else None


def leads_count(srv: ServerProcess, last_run_only: bool = False) -> int:
    """How many times the server's controller took the lease, over all its runs on this home
    (or in its latest run only: the log after its last start banner)."""
    text = srv.log_path.read_text()
    if last_run_only:
        text = text[max(text.rfind("Modelport listening on"), 0) :]
    return len(_LEADS.findall(text))


def launched_pids(srv: ServerProcess) -> list[int]:
    """Pids of the replica processes this server's log says it started."""
    return [int(pid) for _, pid in _STARTED.findall(srv.log_path.read_text())]


def parent_pid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])  # after state


@contextmanager
def servers_sharing(
    database_url: str, homes: list[Path], extra_env: dict[str, str] | None = None
) -> Iterator[list[ServerProcess]]:
    """One server per home over `database_url`, started in order, with one shared secret key.
    Afterwards every server is stopped and every replica any of them had is killed."""
    shared = {
        "MODELPORT_DATABASE_URL": database_url,
        "MODELPORT_SECRET_KEY": Fernet.generate_key().decode(),
        **(extra_env or {}),
    }
    servers = [ServerProcess(home, extra_env=shared) for home in homes]
    try:
        for srv in servers:
            srv.start()
            if srv is servers[0]:
                # It leads before the others start, so which one holds the lease is known.
                if not wait_until(lambda: controller_id(servers[0]) is not None, timeout=30):
                    raise RuntimeError("the first server's controller never took the lease")
                for other in servers[1:]:  # the operator hands the admin token around
                    other.home.mkdir(parents=True, exist_ok=True)
                    write_private_file(other.home / "admin-token", srv.admin_token + "\n")
        yield servers
    finally:
        handles: list[dict[str, Any]] = []
        for srv in servers:
            if srv.proc is not None and srv.proc.poll() is None and not handles:
                handles = srv.replica_handles()  # one live server sees every replica
        for srv in servers:
            srv.stop()
        kill_replicas(handles)
