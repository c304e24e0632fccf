"""The asynchronous Python client of the native API (/api/v1)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

import httpx

from modelport.domain.records import Role
from modelport.domain.specs import EndpointSpec
from modelport.schemas.autoscale import AutoscaleStatus
from modelport.schemas.datasets import DatasetCreate, DatasetList, DatasetPublic, ObjectList
from modelport.schemas.integrations import IntegrationCreate, IntegrationList, IntegrationPublic
from modelport.schemas.invocations import InvocationList, InvocationPublic
from modelport.schemas.models import ModelList, ModelPublic
from modelport.schemas.native import (
    ActionResult,
    EndpointCreated,
    EndpointList,
    EndpointPublic,
    EventList,
    EventPublic,
    LogsList,
    ProjectPublic,
    ReplicaList,
    ReplicaPublic,
    TokenCreated,
    TokenList,
)
from modelport.schemas.usage import GroupBy, Series, UsageReport
from modelport.sdk import calls, integrations, invocations, model_repo
from modelport.sdk.base import ClientBase
from modelport.sdk.models import Health, ProjectCreated, ProjectList, WhoAmI
from modelport.sdk.waiting import EVENTS_SHOWN, EventTail, ReadyWatch, Verdict

T = TypeVar("T")

ProgressCallback = Callable[[EndpointPublic], None]


class AsyncClient(ClientBase):
    """Async client (asyncio). Arguments left None come from MODELPORT_* env, as for Client."""

    def __init__(
        self, base_url: str | None = None, token: str | None = None, timeout: float = 30
    ) -> None:
        super().__init__(base_url, token)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers(), timeout=timeout
        )

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def send(self, call: calls.ApiCall[T]) -> T:
        with self._transport_errors():
            response = await self._http.request(
                call.method, call.path, params=dict(call.params), json=call.body
            )
        return calls.decode(call, response)

    async def health(self) -> Health:
        return await self.send(calls.health())

    async def whoami(self) -> WhoAmI:
        return await self.send(calls.whoami())

    async def create_endpoint(
        self, name: str, spec: EndpointSpec | Mapping[str, Any]
    ) -> EndpointCreated:
        return await self.send(calls.create_endpoint(name, spec))

    async def list_endpoints(
        self,
        limit: int | None = None,
        cursor: str | None = None,
        filters: calls.EndpointFilters | None = None,
    ) -> EndpointList:
        """One page of endpoints, oldest first; pass its `next_cursor` for the next."""
        return await self.send(calls.list_endpoints(limit, cursor, filters))

    async def all_endpoints(
        self, filters: calls.EndpointFilters | None = None, page_size: int = 1000
    ) -> list[EndpointPublic]:
        """Every endpoint (matching `filters`), following the cursor page by page."""
        found: list[EndpointPublic] = []
        cursor: str | None = None
        while True:
            page = await self.list_endpoints(page_size, cursor, filters)
            found += page.items
            cursor = page.next_cursor
            if cursor is None:
                return found

    async def get_endpoint(self, name: str) -> EndpointPublic:
        return await self.send(calls.get_endpoint(name))

    async def patch_endpoint(
        self, name: str, changes: Mapping[str, Any], generation: int | None = None
    ) -> EndpointPublic:
        return await self.send(calls.patch_endpoint(name, changes, generation))

    async def delete_endpoint(self, name: str) -> ActionResult:
        return await self.send(calls.delete_endpoint(name))

    async def stop_endpoint(self, name: str) -> ActionResult:
        return await self.send(calls.endpoint_action(name, "stop"))

    async def start_endpoint(self, name: str) -> ActionResult:
        return await self.send(calls.endpoint_action(name, "start"))

    async def restart_endpoint(self, name: str) -> ActionResult:
        return await self.send(calls.endpoint_action(name, "restart"))

    async def replicas(self, name: str) -> ReplicaList:
        return await self.send(calls.replicas(name))

    async def restart_replica(self, name: str, replica_id: int) -> ReplicaPublic:
        """Replace one replica by a fresh one (the others keep serving); the replica answered
        has `restart_requested_at` set and serves until its replacement is READY."""
        return await self.send(calls.restart_replica(name, replica_id))

    async def events(self, name: str, after_id: int = 0, limit: int = 200) -> EventList:
        return await self.send(calls.events(name, after_id, limit))

    async def logs(self, name: str, tail_bytes: int = calls.DEFAULT_TAIL_BYTES) -> LogsList:
        return await self.send(calls.logs(name, tail_bytes))

    async def latest_events(self, name: str, count: int = EVENTS_SHOWN) -> list[EventPublic]:
        """The endpoint's most recent `count` events, oldest first."""
        tail = EventTail(name, keep=count)
        while (call := tail.next_call()) is not None and tail.add(await self.send(call)):
            pass
        return list(tail.latest)

    async def wait_ready(
        self,
        name: str,
        timeout: float = 600,
        poll: float = 0.5,
        on_progress: ProgressCallback | None = None,
    ) -> EndpointPublic:
        """Poll until the endpoint is READY; EndpointNotReadyError (with events) otherwise."""
        watch = ReadyWatch(timeout)
        while True:
            endpoint = await self.get_endpoint(name)
            if on_progress is not None:
                on_progress(endpoint)
            verdict = watch.verdict(endpoint)
            if verdict is Verdict.READY:
                return endpoint
            if verdict is not Verdict.WAITING:
                raise watch.error(verdict, endpoint, await self.latest_events(name))
            await asyncio.sleep(watch.sleep_for(poll))

    async def create_token(
        self, name: str, role: Role | str = Role.MEMBER, endpoint: str | None = None
    ) -> TokenCreated:
        return await self.send(calls.create_token(name, role, endpoint))

    async def list_tokens(self) -> TokenList:
        return await self.send(calls.list_tokens())

    async def revoke_token(self, token_id: int) -> None:
        await self.send(calls.revoke_token(token_id))

    async def projects(self) -> ProjectList:
        return await self.send(calls.projects())

    async def create_project(self, name: str) -> ProjectCreated:
        return await self.send(calls.create_project(name))

    async def get_project(self, name: str) -> ProjectPublic:
        return await self.send(calls.get_project(name))

    async def update_project(
        self,
        name: str,
        limits: Mapping[str, int | None] | None = None,
        host_access: bool | None = None,
    ) -> ProjectPublic:
        """Server admin only: change some limits (None: unlimited) and/or the host grant."""
        return await self.send(calls.update_project(name, limits, host_access))

    async def create_project_token(
        self, project: str, name: str, role: Role | str = Role.ADMIN
    ) -> TokenCreated:
        """Server admin only: a token of `project`, shown once."""
        return await self.send(calls.create_project_token(project, name, role))

    # --- usage ----------------------------------------------------------------------------
    async def usage(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        group_by: GroupBy | str = GroupBy.ENDPOINT,
        endpoint: str | None = None,
        project: str | None = None,
    ) -> UsageReport:
        """Requests, tokens, replica-seconds by plan and cost in [start, end) (default: the
        last 24 h), by endpoint or UTC day; `project`: the server admin's view of another."""
        return await self.send(calls.usage(start, end, group_by, endpoint, project))

    async def series(self, name: str, window: int = 900, step: int = 10) -> Series:
        """The endpoint's graphs over the last `window` seconds, one point per `step`."""
        return await self.send(calls.series(name, window, step))

    # --- autoscale ------------------------------------------------------------------------
    async def autoscale_status(self, name: str, decisions: int = 10) -> AutoscaleStatus:
        """Policy, the autoscaler's target, the wanted count, replicas and recent decisions."""
        return await self.send(calls.autoscale_status(name, decisions))

    async def set_autoscale(
        self, name: str, changes: Mapping[str, Any], generation: int | None = None
    ) -> EndpointPublic:
        """Change spec.autoscale (e.g. {"enabled": True, "min_replicas": 0}); replicas keep
        running. `rules` is replaced whole when given."""
        return await self.send(calls.set_autoscale(name, changes, generation))

    # --- model repository (uploads: the sync Client's upload_file) --------------------------
    async def create_model(self, name: str, description: str = "") -> ModelPublic:
        return await self.send(model_repo.create_model(name, description))

    async def list_models(self) -> ModelList:
        return await self.send(model_repo.list_models())

    async def get_model(self, name: str) -> ModelPublic:
        return await self.send(model_repo.get_model(name))

    async def mark_model_ready(self, name: str) -> ModelPublic:
        return await self.send(model_repo.mark_model_ready(name))

    async def delete_model(self, name: str) -> None:
        await self.send(model_repo.delete_model(name))

    # --- datasets -------------------------------------------------------------------------
    async def create_dataset(self, body: DatasetCreate | Mapping[str, Any]) -> DatasetPublic:
        """Credentials (if any) are sealed by the server and never shown again."""
        return await self.send(calls.create_dataset(body))

    async def list_datasets(self) -> DatasetList:
        return await self.send(calls.list_datasets())

    async def get_dataset(self, name: str) -> DatasetPublic:
        return await self.send(calls.get_dataset(name))

    async def delete_dataset(self, name: str) -> None:
        """Refused (409) while an endpoint's async_config uses it; objects are kept."""
        await self.send(calls.delete_dataset(name))

    async def dataset_objects(self, name: str, prefix: str = "", limit: int = 1000) -> ObjectList:
        """Keys starting with `prefix`, sorted."""
        return await self.send(calls.dataset_objects(name, prefix, limit))

    async def read_dataset_object(self, name: str, key: str) -> bytes:
        """One object's bytes, e.g. `api/is-{endpoint_id}/response/{id}.json`."""
        return await self.send(calls.read_dataset_object(name, key))

    # --- integrations (named credentials; secrets go in, never come back) ---------------------
    async def create_integration(
        self, body: IntegrationCreate | Mapping[str, Any]
    ) -> IntegrationPublic:
        """E.g. {"name": "hub", "kind": "hugging_face", "token": ...}; sealed by the server."""
        return await self.send(integrations.create(body))

    async def list_integrations(self) -> IntegrationList:
        return await self.send(integrations.list_all())

    async def get_integration(self, ref: str | int) -> IntegrationPublic:
        return await self.send(integrations.get(ref))

    async def patch_integration(
        self, ref: str | int, changes: Mapping[str, Any]
    ) -> IntegrationPublic:
        """Non-secret fields (server, username, endpoint_url, region); null unsets one."""
        return await self.send(integrations.patch(ref, changes))

    async def rotate_integration(
        self, ref: str | int, secret: Mapping[str, str]
    ) -> IntegrationPublic:
        """A new secret (every secret field of its kind); new replicas get it."""
        return await self.send(integrations.rotate(ref, secret))

    async def delete_integration(self, ref: str | int) -> None:
        """Refused (ConflictError) while an endpoint's spec names it."""
        await self.send(integrations.delete(ref))

    # --- async invocations ------------------------------------------------------------------
    async def submit_invocation(
        self, name: str, path: str, body: Any, idempotency_key: str | None = None
    ) -> invocations.InvocationAccepted:
        """Queue `body` (JSON, or bytes as-is) for `path` of the endpoint, e.g.
        "v1/chat/completions"; answered at once (202). The same idempotency key on the same
        endpoint returns the same invocation. Needs spec.async_config.enabled."""
        sent = invocations.submission(name, path, body, idempotency_key)
        with self._transport_errors():
            response = await self._http.post(sent.path, content=sent.content, headers=sent.headers)
        return invocations.accepted(response)

    async def list_invocations(
        self,
        name: str,
        statuses: Sequence[str] = (),
        since: datetime | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> InvocationList:
        """Newest first; `total` counts every match over all pages."""
        return await self.send(calls.list_invocations(name, statuses, since, limit, offset))

    async def get_invocation(self, name: str, invocation_id: str) -> InvocationPublic:
        """Status, timings and, once written, the replica's answer (`result`)."""
        return await self.send(calls.get_invocation(name, invocation_id))

    async def cancel_invocation(self, name: str, invocation_id: str) -> InvocationPublic:
        """Only a queued invocation can be canceled (ConflictError naming `status` otherwise)."""
        return await self.send(calls.cancel_invocation(name, invocation_id))

    async def wait_invocation(
        self, name: str, invocation_id: str, timeout: float = 600, poll: float = 0.5
    ) -> InvocationPublic:
        """Poll until a final status (completed, failed, canceled, expired) and return it;
        InvocationWaitTimeoutError (with the last state) after `timeout` seconds."""
        watch = invocations.InvocationWatch(timeout)
        while not watch.done(invocation := await self.get_invocation(name, invocation_id)):
            await asyncio.sleep(watch.sleep_for(poll))
        return invocation
