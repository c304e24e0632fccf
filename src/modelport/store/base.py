"""The store's interface. Only `store/*` touches SQL; everything else codes against this.

All methods are synchronous and short; async callers wrap them in `asyncio.to_thread`.
Every lookup that a request makes on behalf of a user takes a `project_id`, so an object of
another project is simply not found (NotFound), never leaked.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from modelport.domain.datasets import Dataset, StorageKind, StorageOptions
from modelport.domain.decisions import ReplicaReason
from modelport.domain.integrations import Integration, IntegrationFields, IntegrationKind
from modelport.domain.invocations import (
    Invocation,
    InvocationPage,
    InvocationStatus,
    NewInvocation,
)
from modelport.domain.models import ModelFile, ModelRecord, UploadSession
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
from modelport.domain.scaling import ScaleChange
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState, ReplicaState
from modelport.store.paging import EndpointFilter, ReconcileCandidates, RouteChanges

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

    def page_endpoints(
        self,
        project_id: int,
        where: EndpointFilter = EndpointFilter(),
        *,
        limit: int,
        after_id: int = 0,
        offset: int = 0,
    ) -> Sequence[Endpoint]:
        """Up to `limit` of the project's endpoints matching `where`, by id: those after
        `after_id` (keyset) and past `offset` more (offset pages, the vendors' shape)."""
        ...

    def count_endpoints(self, project_id: int, where: EndpointFilter = EndpointFilter()) -> int: ...

    def get_endpoints(self, endpoint_ids: Collection[int]) -> Sequence[Endpoint]:
        """Those of these ids that exist, any project, by id (controller, route table)."""
        ...

    def list_replicas_of(self, endpoint_ids: Collection[int]) -> Sequence[Replica]:
        """The live (not STOPPED) replicas of these endpoints, by id."""
        ...

    def reconcile_candidates(self, since: datetime | None) -> ReconcileCandidates:
        """Endpoint ids with live replicas, autoscaled, being deleted, or updated at or after
        `since` (None: those three only), and the newest updated_at stored."""
        ...

    def route_changes(self, since: datetime | None) -> RouteChanges:
        """What changed at or after `since` for the gateway's route table (None: everything)."""
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
        now: datetime,
        reason: ReplicaReason | None = None,
        detail: str = "",
        handle: ReplicaHandle | None = None,
        next_attempt_at: datetime | None = None,
        count_restart: bool = False,
        fence: LeaseFence | None = None,
    ) -> Replica:
        """Move a replica from `expected` to `new`, checking the transition table; `reason`
        and `detail` say why.

        Conflict if its current state is not `expected` (someone else moved it). `handle`, when
        given, replaces the stored one; READY sets ready_at; count_restart adds one restart.
        """
        ...

    def set_pending_reason(
        self,
        replica_id: int,
        *,
        reason: ReplicaReason,
        detail: str,
        now: datetime,
        next_attempt_at: datetime,
        fence: LeaseFence | None = None,
    ) -> Replica:
        """Give a PENDING replica a new reason, detail and retry time in one compare-and-set,
        staying PENDING. Conflict if it is no longer PENDING, NotFound if it is gone."""
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
        scale: ScaleChange | None = None,
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

    # --- integrations (named credentials; the secret part sealed by the caller) -----------
    def create_integration(
        self,
        project_id: int,
        name: str,
        kind: IntegrationKind,
        fields: IntegrationFields,
        sealed_secret: str,
    ) -> Integration:
        """Version 1. Conflict (naming `name`) if the project has an integration of this name."""
        ...

    def get_integration(self, project_id: int, integration_id: int) -> Integration: ...  # NotFound

    def get_integration_by_name(self, project_id: int, name: str) -> Integration: ...  # NotFound

    def list_integrations(self, project_id: int) -> Sequence[Integration]: ...

    def update_integration(
        self,
        project_id: int,
        integration_id: int,
        *,
        fields: IntegrationFields | None = None,
        sealed_secret: str | None = None,
    ) -> Integration:
        """Set what is given and add one to the version; a secret also sets rotated_at."""
        ...

    def delete_integration(
        self, project_id: int, integration_id: int, *, admit: Admission | None = None
    ) -> None:
        """NotFound if absent. `admit` judges the project's endpoints first, under the lock
        endpoint changes take (refuses while an endpoint's spec names it)."""
        ...

    # --- model repository (store/models.py; the bytes are models/objects.py's) -------------
    def create_model(self, project_id: int, name: str, description: str = "") -> ModelRecord:
        """A new UPLOADING model; Conflict if the project has a model of this name."""
        ...

    def get_model(self, project_id: int, model_id: int) -> ModelRecord: ...  # NotFound

    def get_model_by_name(self, project_id: int, name: str) -> ModelRecord: ...  # NotFound

    def list_models(self, project_id: int) -> Sequence[ModelRecord]: ...

    def mark_model_ready(self, model_id: int, now: datetime) -> ModelRecord:
        """UPLOADING -> READY with the content key of its files as they are in the same
        transaction; Conflict if not UPLOADING, without files or an upload is in progress."""
        ...

    def delete_model(
        self, project_id: int, model_id: int, *, admit: Admission | None = None
    ) -> None:
        """Its rows; NotFound if absent. `admit` judges the project's endpoints first."""
        ...

    def get_model_upload(self, model_id: int, path: str) -> UploadSession | None: ...

    def list_model_uploads(self, model_id: int) -> Sequence[UploadSession]: ...

    def create_model_upload(
        self, model_id: int, path: str, total_size: int, sha256: str
    ) -> UploadSession:
        """Conflict if the model is not UPLOADING or the path has an upload already."""
        ...

    def delete_model_upload(self, upload_id: int) -> None: ...

    def complete_model_upload(self, upload_id: int, file: ModelFile) -> None:
        """The upload becomes the model's file (replacing one of that path) in one step."""
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

    # --- async invocations (store/invocations.py) ------------------------------------------
    # Workers' writes are compare-and-sets on (id, lease_owner, IN_PROGRESS): False means the
    # lease moved on and the worker must leave the row alone.
    def create_invocation(
        self, new: NewInvocation, *, now: datetime, ttl_seconds: float, queue_limit: int
    ) -> tuple[Invocation, bool]:
        """QUEUED, or the one already stored under its idempotency key (False). QuotaExceeded
        when the endpoint has queue_limit pending; NotFound if the endpoint is gone."""
        ...

    def get_invocation(self, endpoint_id: int, invocation_id: str) -> Invocation: ...  # NotFound

    def list_invocations(
        self,
        endpoint_id: int,
        *,
        statuses: Sequence[InvocationStatus] = (),
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> InvocationPage:
        """Newest first."""
        ...

    def cancel_invocation(self, endpoint_id: int, invocation_id: str, now: datetime) -> Invocation:
        """QUEUED -> CANCELED; Conflict naming the status otherwise."""
        ...

    def claim_invocations(
        self, endpoint_id: int, owner: str, limit: int, *, lease_seconds: float, now: datetime
    ) -> Sequence[Invocation]:
        """Due QUEUED and lease-lapsed IN_PROGRESS rows, oldest first, now `owner`'s."""
        ...

    def renew_invocation_lease(
        self, invocation_id: str, owner: str, *, lease_seconds: float, now: datetime
    ) -> bool: ...

    def release_invocation(
        self,
        invocation_id: str,
        owner: str,
        *,
        available_at: datetime | None,
        error: str | None,
        give_back_attempt: bool = False,
    ) -> bool:
        """Back to QUEUED for a retry."""
        ...

    def finish_invocation(
        self,
        invocation_id: str,
        owner: str,
        *,
        status: InvocationStatus,
        now: datetime,
        response_status: int | None,
        result_location: str | None,
        error: str | None,
    ) -> bool: ...

    def expire_invocations(self, now: datetime) -> int:
        """QUEUED past their TTL -> EXPIRED; how many."""
        ...

    def invocation_backlog(self, endpoint_id: int | None = None) -> Mapping[int, int]:
        """QUEUED + IN_PROGRESS per endpoint id (one grouped query; one endpoint's or all)."""
        ...

    def ping(self) -> None:
        """Returns once the database answered a trivial query; raises when it does not."""
        ...

    def close(self) -> None: ...
