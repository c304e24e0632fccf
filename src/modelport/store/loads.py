"""What each server's gateway carries, published for the leader's controller (several servers).

One row per server (not per server and endpoint): a server writes its whole load in one upsert a
tick, the leader reads every server's in one small SELECT, freshness and aging are one timestamp
per server, and an endpoint that went quiet leaves the payload instead of leaving a row behind
to delete. The payload holds only the endpoints with something in flight or just finished, so
it stays small whatever the number of endpoints.

`updated_at` is the publishing server's wall clock (the servers' clocks are kept in sync, as for
the lease); `seq` grows with each write of that server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Column, Integer, String, Table, Text, delete, select

from modelport.store.leases import _insert_for
from modelport.store.repository import Repository
from modelport.store.tables import UtcDateTime, metadata

# Declared beside its repository (migration 0013 creates it), on the shared metadata.
server_loads = Table(
    "server_loads",
    metadata,
    Column("server", String(100), primary_key=True),  # the server's controller holder id
    Column("seq", Integer, nullable=False),  # +1 on every write of this server
    Column("payload", Text, nullable=False),  # ServerLoad JSON
    Column("updated_at", UtcDateTime, nullable=False),
)


class EndpointLoad(BaseModel):
    """One endpoint's requests on one server, summed over its gateway processes."""

    model_config = ConfigDict(frozen=True)

    endpoint_id: int
    in_flight: int = 0  # proxied now, or held waiting for a first READY replica
    held: int = 0  # of in_flight: held (the endpoint has no READY replica here): demand
    completed: int = 0  # completed since this server's write number `since`
    since: int  # the write this count began with: a new number means a count from zero


class ServerLoad(BaseModel):
    model_config = ConfigDict(frozen=True)

    endpoints: tuple[EndpointLoad, ...] = ()
    replicas: dict[int, int] = {}  # replica id -> requests in flight to it (> 0 only)

    @property
    def busy(self) -> bool:
        """Something in flight: written every tick, so that the row stays fresh."""
        return bool(self.replicas) or any(e.in_flight for e in self.endpoints)


@dataclass(frozen=True, slots=True)
class PublishedLoad:
    server: str
    seq: int
    updated_at: datetime
    load: ServerLoad


class LoadStore(Protocol):
    """The part of the store that publishing and reading server loads use."""

    def publish_load(self, server: str, seq: int, load: ServerLoad, now: datetime) -> None: ...

    def server_loads(self) -> Sequence[PublishedLoad]: ...

    def withdraw_load(self, server: str) -> None: ...

    def prune_loads(self, before: datetime) -> int: ...


class LoadRepository(Repository):
    def publish_load(self, server: str, seq: int, load: ServerLoad, now: datetime) -> None:
        """Insert or replace this server's row (one statement)."""
        values = {"seq": seq, "payload": load.model_dump_json(), "updated_at": now}
        with self._engine.begin() as conn:
            upsert = _insert_for(conn)(server_loads).values(server=server, **values)
            conn.execute(
                upsert.on_conflict_do_update(index_elements=[server_loads.c.server], set_=values)
            )

    def server_loads(self) -> Sequence[PublishedLoad]:
        """Every server's row (one per server: a handful)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(server_loads)).all()
        return [
            PublishedLoad(
                server=row.server,
                seq=row.seq,
                updated_at=row.updated_at,
                load=ServerLoad.model_validate_json(row.payload),
            )
            for row in rows
        ]

    def withdraw_load(self, server: str) -> None:
        """A server that stops: its load stops counting at once, not when it ages out."""
        with self._engine.begin() as conn:
            conn.execute(delete(server_loads).where(server_loads.c.server == server))

    def prune_loads(self, before: datetime) -> int:
        """Delete the rows of servers silent since `before` (stopped or killed long ago)."""
        with self._engine.begin() as conn:
            result = conn.execute(delete(server_loads).where(server_loads.c.updated_at < before))
        return result.rowcount
