"""Endpoint lifecycle rules: the one place they live. Every API dialect calls this service.

The service writes desired state only (spec, generation, desired state) and events; the
controller acts on what the store says. Field paths in errors are rooted at "spec" for spec
fields and "name" for the endpoint name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ValidationError

from modelport.catalog import PlanCatalog
from modelport.clock import Clock
from modelport.domain.errors import Conflict, Forbidden, InvalidSpec, NotFound
from modelport.domain.ids import validate_name
from modelport.domain.records import Endpoint, Event, EventLevel, Replica, Role
from modelport.domain.specs import EndpointSpec
from modelport.domain.states import DesiredState, ReplicaState
from modelport.schemas.native import EndpointPublic
from modelport.security.secrets import SecretBox
from modelport.services.auth import Principal
from modelport.services.datasets import DATASET_REF_FIELD
from modelport.services.endpoint_pages import EndpointPage, PageQuery, read_page
from modelport.services.endpoint_views import ReplicaLog, endpoint_public, replica_logs
from modelport.services.engine_check import check_engine_can_serve
from modelport.services.host_policy import HostUse, host_uses, new_host_uses
from modelport.services.integrations import IntegrationService
from modelport.services.quotas import admit_change, admit_new
from modelport.services.sealed_specs import reject_masks, same_but_secret_values
from modelport.services.spec_secrets import keep_unchanged_secrets, seal, unseal
from modelport.services.tokens import mint_token
from modelport.services.usage_plans import check_plan
from modelport.services.validation import invalid_spec
from modelport.store.base import Store
from modelport.store.paging import EndpointFilter

SpecCheck = Callable[[str, EndpointSpec], None]  # raises InvalidSpec for an unservable spec


class DatasetRefs(Protocol):
    """What the dataset check needs of services/datasets.DatasetService."""

    def resolve(self, project_id: int, ref: str | None, *, field: str = ...) -> object: ...


class ModelRefs(Protocol):
    """What the model check needs of services/models.ModelService."""

    def resolve(self, project_id: int, ref: str, *, field: str = ...) -> object: ...


MAX_EVENTS_PAGE = 1000
MAX_TAIL_BYTES = 1024 * 1024
_SCAN_BATCH = 500  # rows per indexed read of scan()
_CAS_ATTEMPTS = 5  # read-merge-write retries when the caller gave no generation
# Replicas a restart may replace; a DRAINING one is already leaving, a STOPPED one is gone.
_RESTARTABLE = frozenset(
    {ReplicaState.PENDING, ReplicaState.STARTING, ReplicaState.READY, ReplicaState.FAILED}
)


class LifecycleReason(StrEnum):
    """Event reasons written by user actions (the controller writes replica-level ones)."""

    ENDPOINT_CREATED = "EndpointCreated"  # created; replicas follow
    ENDPOINT_PATCHED = "EndpointPatched"  # spec changed; replicas roll onto the new generation
    ENDPOINT_STOPPED = "EndpointStopped"  # stop asked; replicas drain and stop
    ENDPOINT_STARTED = "EndpointStarted"  # start asked; replicas come back
    ENDPOINT_RESTARTED = "EndpointRestarted"  # restart asked; replicas roll one by one
    ENDPOINT_DELETING = "EndpointDeleting"  # delete asked; torn down, then removed
    REPLICA_RESTART_REQUESTED = "ReplicaRestartRequested"  # one replica to be replaced


# Changes the gateway's route table shows (running or not, names, aliases, async routes).
_ROUTED = frozenset(
    {
        LifecycleReason.ENDPOINT_CREATED,
        LifecycleReason.ENDPOINT_PATCHED,
        LifecycleReason.ENDPOINT_STOPPED,
        LifecycleReason.ENDPOINT_STARTED,
        LifecycleReason.ENDPOINT_DELETING,
    }
)


class EndpointService:
    def __init__(
        self,
        store: Store,
        box: SecretBox,
        clock: Clock,
        gateway_base_url: str,
        *,
        check_spec: SpecCheck | None = None,
        model_dirs: Sequence[str] = (),
        datasets: DatasetRefs | None = None,
        integrations: IntegrationService | None = None,
        models: ModelRefs | None = None,
        plans: PlanCatalog | None = None,
        routes_changed: Callable[[], None] = lambda: None,
    ) -> None:
        """`model_dirs`: resolved directories whose files any member may name as model paths
        (host_policy.allowed_dirs); anything else that reaches the host needs host access.
        `datasets`: checks that `spec.async_config.dataset_id` names a dataset of the project
        (None: not checked, for services built without datasets); `integrations` likewise
        for spec.model.integration / registry_integration, and `models` that
        spec.model.model_id names a READY model of the project's repository, and `plans`
        that spec.plan names a price of the plan catalog.
        `routes_changed`: called after a change the gateway's routes show (the server waits
        there until its route table has it, so the next request finds the endpoint)."""
        self._store = store
        self._routes_changed = routes_changed
        self._datasets = datasets
        self._integrations = integrations
        self._models = models
        self._model_dirs = tuple(model_dirs)
        self._box = box
        self._clock = clock
        self._gateway_base_url = gateway_base_url
        engine_check = check_spec or (lambda name, spec: check_engine_can_serve(name, spec, box))

        def checked(name: str, spec: EndpointSpec) -> None:
            if plans is not None:
                check_plan(spec, plans)
            engine_check(name, spec)

        self._check_spec = checked

    # --- reads ------------------------------------------------------------------------------
    def get(self, principal: Principal, name: str) -> Endpoint:
        endpoint = self._store.get_endpoint_by_name(principal.project_id, name)
        principal.require_endpoint(endpoint.id)
        return endpoint

    def get_by_id(self, principal: Principal, endpoint_id: int) -> Endpoint | None:
        """The caller's endpoint with this id (one primary-key read); None when the caller has
        none such (an endpoint-scoped token has only its own)."""
        if principal.endpoint_id not in (None, endpoint_id):
            return None
        try:
            return self._store.get_endpoint(principal.project_id, endpoint_id)
        except NotFound:
            return None

    def page(self, principal: Principal, query: PageQuery) -> EndpointPage:
        """One page of the caller's endpoints from indexed reads (services/endpoint_pages)."""
        return read_page(self._store, principal, query)

    def count(self, principal: Principal, where: EndpointFilter = EndpointFilter()) -> int:
        """How many of the caller's endpoints `where` lets through (an indexed count)."""
        if principal.endpoint_id is not None:
            where = replace(where, only_id=principal.endpoint_id)
        return self._store.count_endpoints(principal.project_id, where)

    def scan(self, principal: Principal, where: EndpointFilter) -> Iterator[Endpoint]:
        """The caller's endpoints `where` lets through, by id, read in indexed batches: for a
        filter that is not a column (a vendor's id kept in spec.extensions)."""
        if principal.endpoint_id is not None:
            where = replace(where, only_id=principal.endpoint_id)
        after = 0
        while True:
            rows = self._store.page_endpoints(
                principal.project_id, where, limit=_SCAN_BATCH, after_id=after
            )
            yield from rows
            if len(rows) < _SCAN_BATCH:
                return
            after = rows[-1].id

    def replicas(self, principal: Principal, name: str) -> Sequence[Replica]:
        return self._store.list_replicas(self.get(principal, name).id)

    def events(
        self, principal: Principal, name: str, after_id: int = 0, limit: int = 200
    ) -> Sequence[Event]:
        if after_id < 0:
            raise InvalidSpec("after_id: must be >= 0", field="after_id")
        if not 1 <= limit <= MAX_EVENTS_PAGE:
            raise InvalidSpec(f"limit: must be between 1 and {MAX_EVENTS_PAGE}", field="limit")
        endpoint = self.get(principal, name)
        return self._store.list_events(endpoint.id, after_id=after_id, limit=limit)

    def logs(
        self, principal: Principal, name: str, tail_bytes: int = 65536
    ) -> Sequence[ReplicaLog]:
        if not 1 <= tail_bytes <= MAX_TAIL_BYTES:
            raise InvalidSpec(
                f"tail_bytes: must be between 1 and {MAX_TAIL_BYTES}", field="tail_bytes"
            )
        return replica_logs(self.replicas(principal, name), tail_bytes)

    def public(self, endpoint: Endpoint, replicas: Sequence[Replica]) -> EndpointPublic:
        return endpoint_public(endpoint, replicas, self._gateway_base_url)

    def view(self, endpoint: Endpoint) -> EndpointPublic:
        """The public view of an endpoint the caller already holds (replicas read now)."""
        return self.public(endpoint, self._store.list_replicas(endpoint.id))

    def describe(self, principal: Principal, name: str) -> EndpointPublic:
        return self.view(self.get(principal, name))

    # --- create -----------------------------------------------------------------------------
    def create(
        self, principal: Principal, name: str, spec: EndpointSpec
    ) -> tuple[Endpoint, str | None]:
        """The new endpoint and its inference key; the existing one and None when idempotent."""
        principal.require_mutate()
        try:
            validate_name(name)
        except ValueError as exc:
            raise InvalidSpec(str(exc), field="name") from exc
        # Before anything that looks at the host (the engine check opens model paths).
        _require_host(principal, host_uses(spec, self._model_dirs))
        existing = self._find(principal.project_id, name)
        if existing is not None:
            return self._same_or_conflict(existing, spec), None
        reject_masks(spec)
        self._check_dataset(principal, spec, None)
        self._check_model(principal, spec, None)
        if self._integrations is not None:
            self._integrations.check_spec_refs(principal.project_id, spec, None)
        self._check_spec(name, spec)
        sealed = seal(spec, self._box)
        try:
            endpoint = self._store.create_endpoint(
                principal.project_id,
                name,
                sealed,
                sealed.model_dump_json(),
                admit=admit_new(spec),
            )
        except Conflict:
            # Another request created it meanwhile: same rules as if it had been there first.
            return self._same_or_conflict(
                self._store.get_endpoint_by_name(principal.project_id, name), spec
            ), None
        # Role MEMBER scoped to the endpoint: it may call it and read it, never change anything.
        _, key = mint_token(
            self._store, principal.project_id, f"{name}-inference", Role.MEMBER, endpoint.id
        )
        self._event(endpoint, LifecycleReason.ENDPOINT_CREATED, "created with generation 1")
        return endpoint, key

    def _check_dataset(
        self, principal: Principal, spec: EndpointSpec, old: EndpointSpec | None
    ) -> None:
        """InvalidSpec naming spec.async_config.dataset_id when it names no dataset of the
        project. Only a new reference is checked: a dataset in use cannot be deleted."""
        ref = spec.async_config.dataset_id
        if self._datasets is None or ref is None:
            return
        if old is not None and old.async_config.dataset_id == ref:
            return
        self._datasets.resolve(principal.project_id, ref, field=DATASET_REF_FIELD)

    def _check_model(
        self, principal: Principal, spec: EndpointSpec, old: EndpointSpec | None
    ) -> None:
        """InvalidSpec naming spec.model.model_id when it names no READY model of the
        project. Only a new reference is checked: a model in use cannot be deleted."""
        ref = spec.model.model_id
        if self._models is None or ref is None:
            return
        if old is not None and old.model.model_id == ref:
            return
        self._models.resolve(principal.project_id, ref, field="spec.model.model_id")

    def _find(self, project_id: int, name: str) -> Endpoint | None:
        try:
            return self._store.get_endpoint_by_name(project_id, name)
        except NotFound:
            return None

    def _same_or_conflict(self, existing: Endpoint, spec: EndpointSpec) -> Endpoint:
        if existing.desired_state is DesiredState.DELETED:
            raise Conflict(
                f"endpoint '{existing.name}' is being deleted; create it again once it is gone",
                field="name",
            )
        # Secret values are left out: an answer that depended on them would let a caller test
        # guesses of a secret. A create that differs only there keeps the stored secrets.
        if not same_but_secret_values(existing.spec, spec):
            raise Conflict(
                f"endpoint '{existing.name}' already exists with a different spec; "
                "PATCH it to change it, or pick another name",
                field="name",
            )
        return existing

    # --- changes ----------------------------------------------------------------------------
    def patch(
        self,
        principal: Principal,
        name: str,
        changes: dict[str, Any],
        expected_generation: int | None = None,
    ) -> Endpoint:
        """Merge `changes` into the spec; a real change bumps the generation (replicas roll)."""
        principal.require_mutate()
        for attempt in range(_CAS_ATTEMPTS):
            current = self._mutable(principal, name)
            if expected_generation is not None and expected_generation != current.generation:
                raise _stale(name, expected_generation, current.generation)
            try:
                merged = current.spec.with_changes(changes)
            except ValidationError as exc:
                raise invalid_spec(exc) from exc
            kept = keep_unchanged_secrets(merged, current.spec)
            reject_masks(kept, current.spec)
            new_spec = seal(kept, self._box)
            # Compared unsealed (sealing is not deterministic), each side decrypted once.
            new_plain, old_plain = unseal(new_spec, self._box), unseal(current.spec, self._box)
            if new_plain == old_plain:
                return current
            # Only what the stored spec lacks needs host access: a member may scale or
            # restart what the operator set up. Checked before the engine looks at the host.
            _require_host(principal, new_host_uses(new_plain, old_plain, self._model_dirs))
            self._check_dataset(principal, new_plain, old_plain)
            self._check_model(principal, new_plain, old_plain)
            if self._integrations is not None:
                self._integrations.check_spec_refs(principal.project_id, new_plain, old_plain)
            self._check_spec(name, new_plain)
            # Scaling or autoscale/async settings keep the running replicas; the rest rolls them.
            roll = new_plain.replica_template() != old_plain.replica_template()
            try:
                updated = self._store.update_endpoint(
                    current.id,
                    expected_generation=current.generation,
                    secret_spec_json=new_spec.model_dump_json(),
                    bump_generation=True,
                    roll_replicas=roll,
                    admit=admit_change(current.id, spec=new_plain),
                )
            except Conflict as exc:
                if expected_generation is not None:
                    raise _stale(name, expected_generation) from exc
                if attempt == _CAS_ATTEMPTS - 1:
                    raise
                continue  # someone else changed it between our read and write: merge again
            self._event(
                updated,
                LifecycleReason.ENDPOINT_PATCHED,
                f"spec changed ({', '.join(sorted(changes))}); generation {updated.generation}"
                + ("; replicas roll onto it" if roll else "; running replicas are kept"),
            )
            return updated
        raise AssertionError("unreachable: the loop returns or raises")

    def stop(self, principal: Principal, name: str) -> Endpoint:
        return self._set_desired(
            principal, name, DesiredState.STOPPED, LifecycleReason.ENDPOINT_STOPPED
        )

    def start(self, principal: Principal, name: str) -> Endpoint:
        return self._set_desired(
            principal, name, DesiredState.RUNNING, LifecycleReason.ENDPOINT_STARTED
        )

    def restart(self, principal: Principal, name: str) -> Endpoint:
        """Same spec, next generation: the controller replaces replicas one by one."""
        principal.require_mutate()
        current = self._mutable(principal, name)
        updated = self._store.update_endpoint(
            current.id,
            expected_generation=None,
            desired_state=DesiredState.RUNNING,
            bump_generation=True,
            admit=admit_change(current.id, desired=DesiredState.RUNNING),
        )
        self._event(updated, LifecycleReason.ENDPOINT_RESTARTED, f"generation {updated.generation}")
        return updated

    def restart_replica(self, principal: Principal, name: str, replica_id: int) -> Replica:
        """Replace one replica by a fresh one of the same generation; the others keep serving.

        Only the request is written (on the replica, so it outlives a control-plane restart):
        the controller starts the replacement, then drains this one once the replacement is
        READY, as in a rollout (controller/rollout.py). Asking again is a no-op.
        """
        principal.require_mutate()
        endpoint = self._mutable(principal, name)
        replica = self._replica_of(endpoint, replica_id)
        if replica.restart_requested_at is not None:
            return replica
        if endpoint.desired_state is not DesiredState.RUNNING:
            raise Conflict(
                f"endpoint '{name}' is {endpoint.desired_state.value}; start it first",
                field="name",
            )
        try:
            marked = self._store.request_replica_restart(
                replica.id, _RESTARTABLE, self._clock.now()
            )
        except Conflict:
            # It moved since we read it (e.g. began draining): judge its new state.
            marked = self._replica_of(endpoint, replica_id)
            if marked.restart_requested_at is None:
                raise _not_restartable(marked) from None
            return marked
        self._store.add_event(
            endpoint.id,
            level=EventLevel.INFO,
            reason=LifecycleReason.REPLICA_RESTART_REQUESTED.value,
            message=(
                f"restart of replica {replica.id} requested by {self._who(principal)}; "
                "a fresh replica starts, then this one drains"
            ),
            now=self._clock.now(),
            replica_id=replica.id,
        )
        return marked

    def _replica_of(self, endpoint: Endpoint, replica_id: int) -> Replica:
        """The endpoint's replica, unless it is gone: NotFound naming `replica`."""
        try:
            replica = self._store.get_replica(replica_id)
        except NotFound:
            replica = None
        if replica is None or replica.endpoint_id != endpoint.id:
            raise NotFound(
                f"replica {replica_id} not found on endpoint '{endpoint.name}'", field="replica"
            )
        if replica.state is ReplicaState.STOPPED:
            raise NotFound(
                f"replica {replica_id} of endpoint '{endpoint.name}' has stopped", field="replica"
            )
        if replica.state not in _RESTARTABLE and replica.restart_requested_at is None:
            raise _not_restartable(replica)
        return replica

    def _who(self, principal: Principal) -> str:
        for token in self._store.list_tokens(principal.project_id):
            if token.id == principal.token_id:
                return f"token '{token.name}' ({token.role.value})"
        return f"token {principal.token_id}"

    def delete(self, principal: Principal, name: str) -> Endpoint:
        """Desired DELETED and its inference keys revoked; the controller removes the row."""
        principal.require_mutate()
        current = self.get(principal, name)
        for token in self._store.list_tokens(principal.project_id):
            if token.endpoint_id == current.id and not token.revoked:
                self._store.revoke_token(principal.project_id, token.id)
        if current.desired_state is DesiredState.DELETED:
            return current
        updated = self._store.update_endpoint(
            current.id, expected_generation=None, desired_state=DesiredState.DELETED
        )
        self._event(updated, LifecycleReason.ENDPOINT_DELETING, "tearing down replicas")
        return updated

    def _set_desired(
        self, principal: Principal, name: str, desired: DesiredState, reason: LifecycleReason
    ) -> Endpoint:
        principal.require_mutate()
        current = self._mutable(principal, name)
        if current.desired_state is desired:
            return current
        updated = self._store.update_endpoint(
            current.id,
            expected_generation=None,
            desired_state=desired,
            admit=admit_change(current.id, desired=desired),
        )
        self._event(updated, reason, f"desired state {desired.value}")
        return updated

    def _mutable(self, principal: Principal, name: str) -> Endpoint:
        endpoint = self.get(principal, name)
        if endpoint.desired_state is DesiredState.DELETED:
            raise Conflict(f"endpoint '{name}' is being deleted", field="name")
        return endpoint

    def add_event(
        self,
        principal: Principal,
        name: str,
        reason: str,
        message: str,
        level: EventLevel = EventLevel.INFO,
    ) -> Event:
        """An event on an endpoint the caller may change, written by a dialect (e.g. an option
        its vendor offers that the endpoint's engine lacks). `reason` is CamelCase."""
        principal.require_mutate()
        endpoint = self.get(principal, name)
        return self._store.add_event(
            endpoint.id, level=level, reason=reason, message=message, now=self._clock.now()
        )

    def _event(self, endpoint: Endpoint, reason: LifecycleReason, message: str) -> None:
        self._store.add_event(
            endpoint.id,
            level=EventLevel.INFO,
            reason=reason.value,
            message=message,
            now=self._clock.now(),
        )
        if reason in _ROUTED:
            self._routes_changed()


def _require_host(principal: Principal, uses: Sequence[HostUse]) -> None:
    """Forbidden, naming the first field and listing the others, unless the caller may."""
    if not uses or principal.may_use_host:
        return
    first, others = uses[0], uses[1:]
    also = f" (also: {', '.join(u.field for u in others)})" if others else ""
    raise Forbidden(first.message() + also, field=first.field)


def _not_restartable(replica: Replica) -> Exception:
    if replica.state is ReplicaState.STOPPED:
        return NotFound(f"replica {replica.id} has stopped", field="replica")
    return Conflict(
        f"replica {replica.id} is {replica.state.value}: it is already leaving", field="replica"
    )


def _stale(name: str, expected: int, current: int | None = None) -> Conflict:
    now = f"generation is {current}, not {expected}" if current else f"it is past {expected}"
    return Conflict(
        f"endpoint '{name}' changed meanwhile ({now}): re-read it and apply your change again",
        field="generation",
    )
