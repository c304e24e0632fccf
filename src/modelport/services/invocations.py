"""Async invocations: the rules every way in shares (native API, gateway intake, TIR).

Who may do what: anyone who may call the endpoint (any token of its project, an inference key
only its own endpoint) may submit, read, list and cancel its invocations; an object of another
project, or another endpoint for an inference key, is simply not found. Submitting needs
`spec.async_config.enabled`; turning it off stops intake, while queued work is still finished.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from modelport.clock import Clock
from modelport.datasets.storage import ResultStorage
from modelport.domain.datasets import Dataset
from modelport.domain.errors import Conflict, InvalidSpec, ModelportError
from modelport.domain.invocations import Invocation, InvocationPage, InvocationStatus, NewInvocation
from modelport.domain.records import Endpoint
from modelport.services.auth import Principal
from modelport.services.invocation_results import response_body
from modelport.store.base import Store

ENABLED_FIELD = "spec.async_config.enabled"
IDEMPOTENCY_FIELD = "Idempotency-Key"
MAX_PAGE = 1000
_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII: it is stored and compared as sent


class ResultReader(Protocol):
    """The part of a dataset's storage (datasets/storage.ResultStorage) reads need."""

    def read(self, key: str) -> bytes | None: ...


# The storage an endpoint's results go to (its async_config's dataset, or the project default).
ResultStores = Callable[[Endpoint], ResultReader]


class DatasetLookup(Protocol):
    """What results_in needs of services/datasets.DatasetService."""

    def resolve(self, project_id: int, ref: str | None) -> Dataset: ...

    def storage(self, dataset: Dataset) -> ResultStorage: ...


def results_in(datasets: DatasetLookup) -> Callable[[Endpoint], ResultStorage]:
    """Each endpoint's result storage: its async_config's dataset (id or name), or the
    project's default local dataset. InvalidSpec naming the field when it is gone."""

    def storage(endpoint: Endpoint) -> ResultStorage:
        dataset = datasets.resolve(endpoint.project_id, endpoint.spec.async_config.dataset_id)
        return datasets.storage(dataset)

    return storage


@dataclass(frozen=True, slots=True)
class AsyncRequest:
    """A request to queue, as the replica will get it."""

    method: str
    path: str  # percent-encoded path plus "?query"
    body: bytes
    headers: tuple[tuple[str, str], ...]  # forwardable headers only (no credentials)
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class QueueLimits:
    ttl_seconds: float  # queued longer than this: EXPIRED
    queue_limit: int  # pending per endpoint; more is refused (429)


class InvocationService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        limits: QueueLimits,
        results: ResultStores | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._limits = limits
        self._results = results

    # --- which endpoint -------------------------------------------------------------------
    def endpoint(self, principal: Principal, name: str) -> Endpoint:
        endpoint = self._store.get_endpoint_by_name(principal.project_id, name)
        principal.require_endpoint(endpoint.id)
        return endpoint

    def endpoint_by_id(self, principal: Principal, endpoint_id: int) -> Endpoint:
        endpoint = self._store.get_endpoint(principal.project_id, endpoint_id)
        principal.require_endpoint(endpoint.id)
        return endpoint

    # --- intake -----------------------------------------------------------------------------
    def submit(
        self, principal: Principal, endpoint_id: int, request: AsyncRequest
    ) -> tuple[Endpoint, Invocation, bool]:
        """Durable before it returns. (endpoint, the invocation, True) when queued now; (.., the
        earlier one, False) for an idempotency key already used on this endpoint."""
        endpoint = self.endpoint_by_id(principal, endpoint_id)  # the stored spec decides
        key = request.idempotency_key
        if key is not None and not _KEY.fullmatch(key):
            raise InvalidSpec(
                f"{IDEMPOTENCY_FIELD}: 1-255 visible ASCII characters", field=IDEMPOTENCY_FIELD
            )
        if not endpoint.spec.async_config.enabled:
            raise Conflict(
                f"{ENABLED_FIELD}: async invocations are off for endpoint '{endpoint.name}'; "
                "enable them in its async_config",
                field=ENABLED_FIELD,
            )
        new = NewInvocation(
            project_id=endpoint.project_id,
            endpoint_id=endpoint.id,
            method=request.method,
            path=request.path,
            body=request.body,
            headers=request.headers,
            idempotency_key=key,
        )
        invocation, created = self._store.create_invocation(
            new,
            now=self._clock.now(),
            ttl_seconds=self._limits.ttl_seconds,
            queue_limit=self._limits.queue_limit,
        )
        return endpoint, invocation, created

    # --- reads and cancel -------------------------------------------------------------------
    def now(self) -> datetime:
        """The service's clock: what created_at is measured with (for relative filters)."""
        return self._clock.now()

    def get(self, principal: Principal, endpoint: Endpoint, invocation_id: str) -> Invocation:
        principal.require_endpoint(endpoint.id)
        return self._store.get_invocation(endpoint.id, invocation_id)

    def list(
        self,
        principal: Principal,
        endpoint: Endpoint,
        *,
        statuses: Sequence[InvocationStatus] = (),
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> InvocationPage:
        principal.require_endpoint(endpoint.id)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidSpec(f"limit: must be between 1 and {MAX_PAGE}", field="limit")
        if offset < 0:
            raise InvalidSpec("offset: must be >= 0", field="offset")
        return self._store.list_invocations(
            endpoint.id, statuses=statuses, since=since, limit=limit, offset=offset
        )

    def cancel(self, principal: Principal, endpoint: Endpoint, invocation_id: str) -> Invocation:
        """QUEUED -> CANCELED; Conflict (naming its status) once a worker has it or it is done."""
        principal.require_endpoint(endpoint.id)
        return self._store.cancel_invocation(endpoint.id, invocation_id, self._clock.now())

    def result(self, endpoint: Endpoint, invocation: Invocation) -> Any | None:
        """The replica's response body from the result file, once written (None before, or
        when the file cannot be read: the status still answers)."""
        if invocation.result_location is None or self._results is None:
            return None
        try:
            document = self._results(endpoint).read(invocation.result_key)
        except (ModelportError, OSError, ValueError):
            return None
        return None if document is None else response_body(document)

    # --- for the autoscaler -------------------------------------------------------------------
    def backlog(self, endpoint_id: int) -> int:
        """Queued + in-progress invocations of the endpoint: demand, also at zero replicas."""
        return self._store.invocation_backlog(endpoint_id).get(endpoint_id, 0)
