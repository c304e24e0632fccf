"""The store's interface. Only `store/*` touches SQL; everything else codes against this.

All methods are synchronous and short; async callers wrap them in `asyncio.to_thread`.
Every lookup that a request makes on behalf of a user takes a `project_id`, so an object of
another project is simply not found (NotFound), never leaked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from modelport.domain.datasets import Dataset, StorageKind, StorageOptions
from modelport.domain.records import (
    Endpoint,
    Event,
    EventLevel,
    LeaseFence,
    Project,
    ProjectLimits,
    Replica,
    ReplicaHandle,
    Role,
    Token,
)
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState, ReplicaState

# Judges a change against the project (fresh, locked) and its endpoints as they are; raises
# (e.g. QuotaExceeded) to refuse it. Concurrent admissions of one project run one at a time.
Admission = Callable[[Project, Sequence[Endpoint]], None]


class Store(Protocol):
    # --- projects -----------------------------------------------------------------------
    def create_project(self, name: str) -> Project:
        """Raises Conflict if the name is taken."""
        ...

    def get_project(self, project_id: int) -> Project: ...  # NotFound

    def get_project_by_name(self, name: str) -> Project: ...  # NotFound

    def list_projects(self) -> Sequence[Project]: ...

    def update_project(
        self,
        project_id: int,
        *,
        limits: ProjectLimits | None = None,
        host_access: bool | None = None,
    ) -> Project:
        """Set what is given (None: unchanged). NotFound if absent."""
        ...

    # --- tokens -------------------------------------------------------------------------
    def create_token(
        self,
        project_id: int,
        name: str,
        role: Role,
        token_hash: str,
        prefix: str,
        endpoint_id: int | None = None,
        *,
        server_admin: bool = False,
    ) -> Token: ...

    def find_token(self, token_hash: str) -> Token | None:
        """The live (not revoked) token with this hash, or None."""
        ...

    def list_tokens(self, project_id: int) -> Sequence[Token]: ...

    def make_server_admin(self, token_id: int) -> Token: ...  # NotFound

    def revoke_token(self, project_id: int, token_id: int) -> None: ...  # NotFound

    # --- endpoints ----------------------------------------------------------------------
    def create_endpoint(
        self,
        project_id: int,
        name: str,
        spec: EndpointSpec,
        secret_spec_json: str,
        *,
        admit: Admission | None = None,
    ) -> Endpoint:
        """Insert with generation 1, desired RUNNING. Conflict if the name is taken. `admit`,
        when given, judges the project's endpoints first, in the same transaction.

        `secret_spec_json` is the spec as stored (secret values already encrypted by the
        caller); `spec` is what the caller validated. The store persists the former.
        """
        ...

    def get_endpoint(self, project_id: int, endpoint_id: int) -> Endpoint: ...  # NotFound

    def get_endpoint_by_name(self, project_id: int, name: str) -> Endpoint: ...  # NotFound

    def get_endpoint_any_project(self, endpoint_id: int) -> Endpoint: ...  # controller only

    def list_endpoints(self, project_id: int | None = None) -> Sequence[Endpoint]:
        """One project's endpoints, or all of them (controller) when project_id is None."""
        ...

    def update_endpoint(
        self,
        endpoint_id: int,
        *,
        expected_generation: int | None,
        secret_spec_json: str | None = None,
        desired_state: DesiredState | None = None,
        bump_generation: bool = False,
        roll_replicas: bool = True,
        admit: Admission | None = None,
    ) -> Endpoint:
        """Compare-and-set on generation: Conflict if `expected_generation` is stale.
        `admit`, when given, judges the project's endpoints (before the change) first, in the
        same transaction.

        `bump_generation` moves the generation on; with `roll_replicas` (the default) the
        template generation follows, so the controller replaces replicas one by one.

        Stored endpoints hold the encrypted spec; `Endpoint.spec` returned by every read is
        that stored spec (secret values still encrypted). Decrypting is the caller's job.
        """
        ...

    def set_scale_target(
        self,
        endpoint_id: int,
        *,
        expected: int | None,
        target: int,
        now: datetime,
        fence: LeaseFence | None = None,
    ) -> Endpoint:
        """The autoscaler's compare-and-set on `scale_target` (None matches an unset one):
        Conflict if another decision moved it first, NotFound if the endpoint is gone. Touches
        neither generation nor spec, so it never conflicts with a user's patch."""
        ...

    def delete_endpoint(self, endpoint_id: int, *, fence: LeaseFence | None = None) -> None:
        """Remove the endpoint with its replicas and events. NotFound if absent."""
        ...

    # --- replicas -----------------------------------------------------------------------
    def create_replica(
        self, endpoint_id: int, generation: int, now: datetime, *, fence: LeaseFence | None = None
    ) -> Replica:
        """A new PENDING replica."""
        ...

    def get_replica(self, replica_id: int) -> Replica: ...  # NotFound

    def list_replicas(
        self, endpoint_id: int | None = None, *, include_stopped: bool = False
    ) -> Sequence[Replica]:
        """Replicas of one endpoint, or of all endpoints when endpoint_id is None."""
        ...

    def list_ready_replicas(self) -> Sequence[Replica]:
        """Every READY replica of every endpoint (the gateway's route table source)."""
        ...

    def transition_replica(
        self,
        replica_id: int,
        expected: ReplicaState,
        new: ReplicaState,
        *,
        reason: str,
        now: datetime,
        handle: ReplicaHandle | None = None,
        next_attempt_at: datetime | None = None,
        count_restart: bool = False,
        fence: LeaseFence | None = None,
    ) -> Replica:
        """Move a replica from `expected` to `new`, checking the transition table.

        Conflict if its current state is not `expected` (someone else moved it). `handle`, when
        given, replaces the stored one; READY sets ready_at; count_restart adds one restart.
        """
        ...

    def request_replica_restart(
        self, replica_id: int, replaceable: frozenset[ReplicaState], now: datetime
    ) -> Replica:
        """Set restart_requested_at (kept if already set) while the replica's state is one of
        `replaceable`. NotFound if absent; Conflict naming its state otherwise."""
        ...

    def delete_replica(self, replica_id: int, *, fence: LeaseFence | None = None) -> None: ...

    # --- events -------------------------------------------------------------------------
    def add_event(
        self,
        endpoint_id: int,
        *,
        level: EventLevel,
        reason: str,
        message: str,
        now: datetime,
        replica_id: int | None = None,
        fence: LeaseFence | None = None,
    ) -> Event: ...

    def list_events(
        self, endpoint_id: int, *, after_id: int = 0, limit: int = 200
    ) -> Sequence[Event]:
        """Oldest first, ids greater than after_id."""
        ...

    # --- datasets (where async results land) ---------------------------------------------
    def create_dataset(
        self,
        project_id: int,
        name: str,
        kind: StorageKind,
        url: str,
        *,
        options: StorageOptions | None = None,
        sealed_credentials: str | None = None,
    ) -> Dataset:
        """Conflict if the project has a dataset of this name."""
        ...

    def get_dataset(self, project_id: int, dataset_id: int) -> Dataset: ...  # NotFound

    def get_dataset_by_name(self, project_id: int, name: str) -> Dataset: ...  # NotFound

    def list_datasets(self, project_id: int) -> Sequence[Dataset]: ...

    def delete_dataset(
        self, project_id: int, dataset_id: int, *, admit: Admission | None = None
    ) -> None:
        """NotFound if absent. `admit` judges the project's endpoints first, under the lock
        endpoint changes take (e.g. refuses while an endpoint's async_config uses it)."""
        ...

    # --- leader lease -------------------------------------------------------------------
    # The controller's writes above take `fence`: with one, the write lands only if the lease
    # is still that holder's at that generation (checked in the same transaction); otherwise
    # LeaseLost. Without one (the API's writes) nothing is checked.
    def try_acquire_lease(
        self, name: str, holder: str, ttl_seconds: float, now: datetime
    ) -> LeaseFence | None:
        """Take or renew the named lease until now + ttl; its fence, or None if another holds
        it. The generation stays on renewal and grows on every other acquisition."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """Expire the lease now if `holder` has it (the row and its generation stay)."""
        ...

    def close(self) -> None: ...
