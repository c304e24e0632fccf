"""Bearer-token authentication shared by the API and the gateway.

Lookups are cached for a few seconds so the gateway's hot path does not hit the database per
request; a revoked token stops working within the cache TTL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from modelport.clock import Clock
from modelport.domain.errors import Forbidden, NotFound, Unauthorized
from modelport.domain.ids import hash_token
from modelport.domain.records import ProjectLimits, Role
from modelport.store.base import Store

_UNLIMITED = ProjectLimits()  # frozen: one shared default is safe


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token's project, role and, for inference keys, its one endpoint."""

    token_id: int
    project_id: int
    role: Role
    endpoint_id: int | None = None  # set: may only call this endpoint
    server_admin: bool = False  # the server's operator: projects, limits, host grants
    host_access: bool = False  # the project's host grant (docs/security.md)
    limits: ProjectLimits = _UNLIMITED  # the project's quotas and rate limits

    @property
    def may_use_host(self) -> bool:
        """May this caller put spec content that runs or reads things on the host?"""
        return (self.server_admin or self.host_access) and self.endpoint_id is None

    def require_mutate(self) -> None:
        if not self.role.can_mutate or self.endpoint_id is not None:
            raise Forbidden(f"a {self.role.value} token cannot change anything")

    def require_admin(self) -> None:
        if not self.role.can_manage_tokens or self.endpoint_id is not None:
            raise Forbidden("only an admin token can do this")

    def require_endpoint(self, endpoint_id: int) -> None:
        """Inference keys are scoped to one endpoint; others look like it does not exist."""
        if self.endpoint_id is not None and self.endpoint_id != endpoint_id:
            raise NotFound("endpoint not found")


def single_header(values: list[str], name: str) -> str | None:
    """The one value of a credential header. Sent twice, it is refused: which copy counts
    must not depend on who reads the headers (the gateway and every API answer alike)."""
    if len(values) > 1:
        raise Unauthorized(f"send one {name} header, not several")
    return values[0] if values else None


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class CacheEpoch(Protocol):
    """A number every process of a server sees (`--gateway-workers N`): `forget` on any of them
    advances it, and each process's cached lookups made before that stop counting."""

    def read(self) -> int: ...

    def advance(self) -> None: ...


class Authenticator:
    def __init__(
        self, store: Store, clock: Clock, ttl_seconds: float = 5.0, epoch: CacheEpoch | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl_seconds
        # token -> (expires, principal, the epoch read before the lookup)
        self._cache: dict[str, tuple[float, Principal | None, int]] = {}
        self._lock = threading.Lock()
        self._epoch = epoch

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal for an Authorization header value; Unauthorized if none matches."""
        token = bearer_token(authorization)
        if token is None:
            raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        principal = self._lookup(token)
        if principal is None:
            raise Unauthorized("invalid or revoked token")
        return principal

    def cached(self, authorization: str | None) -> Principal | None:
        """The principal if it is in the cache and fresh: lets async callers skip a thread hop."""
        token = bearer_token(authorization)
        if token is None:
            return None
        entry = self._cache.get(token)
        if entry is not None and entry[0] > self._clock.monotonic() and entry[2] == self._read():
            return entry[1]
        return None

    def forget(self) -> None:
        """Tokens or their projects changed: no cached lookup counts any more, on any process."""
        with self._lock:
            self._cache.clear()
        if self._epoch is not None:
            self._epoch.advance()

    def _read(self) -> int:
        return self._epoch.read() if self._epoch is not None else 0

    def _lookup(self, token: str) -> Principal | None:
        now = self._clock.monotonic()
        epoch = self._read()  # before the store read: a change committed after it advances it
        entry = self._cache.get(token)
        if entry is not None and entry[0] > now and entry[2] == epoch:
            return entry[1]
        record = self._store.find_token(hash_token(token))
        principal = None
        if record is not None:
            project = self._store.get_project(record.project_id)
            principal = Principal(
                record.id,
                record.project_id,
                record.role,
                record.endpoint_id,
                server_admin=record.server_admin,
                host_access=project.host_access,
                limits=project.limits,
            )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[token] = (now + self._ttl, principal, epoch)
        return principal
